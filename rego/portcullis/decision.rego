# METADATA
# title: Portcullis decision entrypoint
# description: |
#   Entrypoint `portcullis/decision` (decision document schema v1: {allow, reasons}).
#   It composes every package under `data.portcullis.rules`: each may contribute
#   `allow contains msg` and `deny contains msg`. Any deny wins over any allow; with neither,
#   the request is denied with a reason naming it. Teams add a package, never edit this file.
# scope: package
package portcullis

# METADATA
# title: decision
# description: The decision document the enforcer enforces. Reasons are sorted, so stable.
# entrypoint: true
decision := {"allow": true, "reasons": sort(_allows)} if {
	count(_denies) == 0
	count(_allows) > 0
} else := {"allow": false, "reasons": sort(_denies)} if {
	count(_denies) > 0
} else := {"allow": false, "reasons": [_default_reason]}

# Each reason is prefixed with the rule package's name so an audit can tell who decided.
_allows contains concat(": ", [name, msg]) if {
	some name, msg
	data.portcullis.rules[name].allow[msg]
	is_string(msg)
}

_denies contains concat(": ", [name, msg]) if {
	some name, msg
	data.portcullis.rules[name].deny[msg]
	is_string(msg)
}

_default_reason := concat(" ", ["no rule allows", _method, _path, "on connection", _connection])

_method := m if {
	m := input.request.method
	is_string(m)
} else := "request"

_path := p if {
	p := input.request.path
	is_string(p)
} else := "(no path)"

_connection := c if {
	c := input.connection.name
	is_string(c)
} else := "(unknown)"
