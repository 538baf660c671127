# METADATA
# title: Portcullis policy helpers
# description: |
#   Common checks for rule packages under data.portcullis.rules: identity roles and scopes,
#   connection, method and path matching, and business hours. All read the v1 input document
#   (see docs/policy-authors.md). Payment card detection is `data.portcullis.lib.pii`.
# scope: package
package portcullis.lib

# METADATA
# description: |
#   Roles of the caller from the `roles` claim: an array of strings, or one space-separated
#   string (as some issuers write `scope`). Empty when absent.
roles contains role if {
	some role in input.identity.claims.roles
	is_string(role)
}

roles contains role if {
	is_string(input.identity.claims.roles)
	some role in split(input.identity.claims.roles, " ")
	role != ""
}

# METADATA
# description: True when the caller holds the role.
has_role(role) if role in roles

# METADATA
# description: |
#   OAuth scopes of the caller from the `scope` claim: one space-separated string (RFC 8693,
#   RFC 9068) or an array of strings. Empty when absent.
scopes contains scope if {
	is_string(input.identity.claims.scope)
	some scope in split(input.identity.claims.scope, " ")
	scope != ""
}

scopes contains scope if {
	some scope in input.identity.claims.scope
	is_string(scope)
}

# METADATA
# description: True when the caller's `scope` claim grants `scope` (e.g. "pii:read").
has_scope(scope) if scope in scopes

# METADATA
# description: True when the caller holds at least one of the roles (a set or array).
has_any_role(wanted) if {
	some role in wanted
	role in roles
}

# METADATA
# description: True when the request goes through the named connection.
connection_is(name) if input.connection.name == name

# METADATA
# description: True when the request method is one of `methods` (upper-case names).
method_in(methods) if input.request.method in methods

# METADATA
# description: |
#   Segment-aware prefix: "/customers" matches "/customers" and "/customers/7" but not
#   "/customers-export". The enforcer canonicalizes paths, so no ".." or "//" reach here.
path_has_prefix(prefix) if input.request.path == trim_suffix(prefix, "/")

path_has_prefix(prefix) if startswith(input.request.path, concat("", [trim_suffix(prefix, "/"), "/"]))

# METADATA
# description: Glob match on the path, segments separated by "/" ("*" = one segment, "**" = any).
path_matches(pattern) if glob.match(pattern, ["/"], input.request.path)

# METADATA
# description: |
#   The evaluation instant in ns: `input.context.time_ns` when the enforcer supplied it (so a
#   recorded decision replays identically), else `time.now_ns()`.
now_ns := input.context.time_ns if is_number(input.context.time_ns)

else := time.now_ns()

# METADATA
# description: |
#   True between `start_hour` (inclusive) and `end_hour` (exclusive), Monday to Friday, in the
#   IANA time zone `tz` (e.g. "Europe/Berlin"; "UTC" for UTC).
within_business_hours(tz, start_hour, end_hour) if {
	[hour, _, _] := time.clock([now_ns, tz])
	hour >= start_hour
	hour < end_hour
	not time.weekday([now_ns, tz]) in {"Saturday", "Sunday"}
}
