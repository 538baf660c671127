# METADATA
# title: Portcullis decision entrypoint
# description: |
#   Entrypoints `portcullis/decision` (decision document schema v1: {allow, reasons} plus the
#   optional `mask`, `record` and `approval` obligations) and `portcullis/log_mask` (what to erase
#   or mask in the decision event). Both compose every package under `data.portcullis.rules`; a
#   package may contribute `allow`, `deny`, `mask_fields`, `mask_detectors`, `mask_strategy`,
#   `record`, `approval` and `log_mask` (all sets). Any deny wins over any allow; with neither,
#   the request is denied with a reason naming it. An approval requirement turns an allow into an
#   escalation. Obligations ride only on an allow or an escalation. Teams add a package, never
#   edit this file.
# scope: package
package portcullis

# METADATA
# title: decision
# description: |
#   The decision document the enforcer enforces. Reasons are sorted, so stable. Any deny wins.
#   Otherwise, when some package allows and some package requires approval, the call escalates:
#   `allow: false` with the approval reasons and the merged `approval` obligation. An allow or an
#   escalation carries `mask` when some package asked for masking and `record` when some package
#   asked to keep bodies (an approved call is forwarded under them).
# entrypoint: true
decision := {"allow": false, "reasons": sort(_denies)} if {
	count(_denies) > 0
} else := object.union_n([_escalation, _mask_obligation, _record_obligation]) if {
	count(_allows) > 0
	count(_approval_requirements) > 0
} else := object.union_n([{"allow": true, "reasons": sort(_allows)}, _mask_obligation, _record_obligation]) if {
	count(_allows) > 0
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

# A requirement that cannot be merged must not be dropped (the call would then go through
# without a human): it denies, with a reason naming the package.
_denies contains msg if {
	some msg in _approval_errors
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

# --- mask: the union of every package's fields and detectors, with the strictest strategy ---

_mask_obligation := {"mask": {
	"fields": sort(_mask_fields),
	"detectors": sort(_mask_detectors),
	"strategy": _mask_strategy,
}} if {
	count(_mask_fields) + count(_mask_detectors) > 0
} else := {}

_mask_fields contains field if {
	some name, field
	data.portcullis.rules[name].mask_fields[field]
	is_string(field)
}

# Names are passed on unchecked: the enforcer rejects an unknown detector (a malformed decision,
# nothing forwarded) rather than shipping what a misspelt detector should have caught.
_mask_detectors contains detector if {
	some name, detector
	data.portcullis.rules[name].mask_detectors[detector]
	is_string(detector)
}

# redact reveals nothing, hash reveals which values are equal, partial reveals a part: when
# packages disagree the one that reveals least wins. A value that is not a known strategy counts
# as redact, so a typo can only make masking stricter.
_strategy_strictness := {"partial": 1, "hash": 2, "redact": 3}

_strictness(strategy) := n if {
	n := _strategy_strictness[strategy]
} else := 3

_strategies contains strategy if {
	some name, strategy
	data.portcullis.rules[name].mask_strategy[strategy]
	is_string(strategy)
}

_mask_strategy := strategy if {
	strictest := max({_strictness(s) | some s in _strategies})
	some strategy
	_strategy_strictness[strategy] == strictest
} else := "redact"

# --- record: which bodies the audit record keeps ---

# Unknown names are passed on too, so the enforcer refuses them ("decision.record.<name> is not a
# known field") instead of the policy silently recording less than its author meant.
_record_obligation := {"record": {part: true | some part in _record_parts}} if {
	count(_record_parts) > 0
} else := {}

_record_parts contains part if {
	some name, part
	data.portcullis.rules[name].record[part]
	is_string(part)
}

# --- approval: escalate instead of allowing ---

# Every package's requirements, as [package name, requirement] pairs.
_approval_requirements contains [name, requirement] if {
	some name
	contributed := data.portcullis.rules[name].approval
	is_set(contributed)
	some requirement in contributed
}

_escalation := {
	"allow": false,
	"reasons": sort(_approval_reasons),
	"approval": {
		"required": true,
		"reason": concat("; ", sort(_approval_reasons)),
		"approvers": sort(_approvers),
		"min_approvals": max({object.get(r, "min_approvals", _default_min_approvals) | some [_, r] in _approval_requirements}),
		"ttl_seconds": min({object.get(r, "ttl_seconds", _default_ttl_seconds) | some [_, r] in _approval_requirements}),
	},
}

# The enforcer's defaults (APPROVAL_DEFAULTS in libs/contracts), written out so the decision
# record shows what applied.
_default_min_approvals := 1

_default_ttl_seconds := 900

_approval_reasons contains concat(": ", [name, requirement.reason]) if {
	some [name, requirement] in _approval_requirements
}

# Several packages: any of their approvers may approve, as many approvals as the most demanding
# package asks for, within the shortest time any of them allows.
_approvers contains approver if {
	some [_, requirement] in _approval_requirements
	some approver in requirement.approvers
}

# Only the shapes merging depends on are checked here; values (approver syntax, ranges) are passed
# on for the enforcer to refuse as a malformed decision, nothing forwarded.
_approval_errors contains _approval_error(name, "approval must be a set of requirements") if {
	some name
	contributed := data.portcullis.rules[name].approval
	not is_set(contributed)
}

_approval_errors contains _approval_error(name, "an approval requirement must be an object") if {
	some [name, requirement] in _approval_requirements
	not is_object(requirement)
}

_approval_errors contains _approval_error(name, "an approval requirement needs a reason (a non-empty string)") if {
	some [name, requirement] in _approval_requirements
	is_object(requirement)
	not _non_empty_string(object.get(requirement, "reason", null))
}

_approval_errors contains _approval_error(name, "an approval requirement needs approvers (a non-empty array of strings)") if {
	some [name, requirement] in _approval_requirements
	is_object(requirement)
	not _approver_list(object.get(requirement, "approvers", null))
}

_approval_errors contains _approval_error(name, concat("", ["an approval requirement's ", field, " must be a number"])) if {
	some [name, requirement] in _approval_requirements
	is_object(requirement)
	some field in {"min_approvals", "ttl_seconds"}
	not is_number(object.get(requirement, field, 0))
}

_approval_error(name, problem) := concat(": ", [name, problem])

_non_empty_string(s) if {
	is_string(s)
	s != ""
}

_approver_list(approvers) if {
	_is_collection(approvers)
	count(approvers) > 0
	every approver in approvers {
		is_string(approver)
	}
}

_is_collection(x) if is_array(x)

_is_collection(x) if is_set(x)

# METADATA
# title: log_mask
# description: |
#   What the enforcer erases or masks in the decision event before it leaves (sorted, so stable):
#   JSON pointers to erase, or {"op": "upsert"|"detect", ...} objects (see docs/masking.md).
#   By default nothing is erased, and card numbers, US SSNs and e-mail addresses are redacted
#   wherever a request or response body can appear in the event. Packages add their own entries.
# entrypoint: true
log_mask := sort(_log_mask)

_body_pointers := {"/input/request/body", "/call/request_body", "/call/response_body"}

_log_mask contains {
	"op": "detect",
	"path": pointer,
	"detectors": ["credit_card", "email", "ssn"],
	"strategy": "redact",
} if {
	some pointer in _body_pointers
}

# Strings and objects are passed on as written; the enforcer validates them and fails closed.
_log_mask contains entry if {
	some name, entry
	data.portcullis.rules[name].log_mask[entry]
	_is_log_mask_entry(entry)
}

_is_log_mask_entry(entry) if is_string(entry)

_is_log_mask_entry(entry) if is_object(entry)
