package portcullis.rules.crm_test

import data.portcullis

_call(method, path, roles) := {
	"identity": {"subject": "svc-test", "issuer": "http://127.0.0.1:8900", "audience": ["portcullis-enforcer"], "claims": {"roles": roles}},
	"connection": {"name": "crm", "type": "http", "labels": {}},
	"request": {"method": method, "path": path, "query": {}, "headers": {}},
	"context": {"time": "2024-06-14T11:00:00Z", "time_ns": 1718362800000000000, "enforcer_id": "dev", "source_ip": "127.0.0.1", "request_id": "r1"},
}

test_reader_may_list_and_get_customers if {
	portcullis.decision.allow with input as _call("GET", "/customers", ["crm-reader"])
	portcullis.decision.allow with input as _call("GET", "/customers/42", ["crm-reader"])
}

test_reader_may_not_delete_and_is_told_why if {
	d := portcullis.decision with input as _call("DELETE", "/customers/42", ["crm-reader"])
	d == {"allow": false, "reasons": ["crm: deleting a customer requires role crm-admin"]}
}

test_admin_may_delete if {
	d := portcullis.decision with input as _call("DELETE", "/customers/42", ["crm-admin"])
	d == {"allow": true, "reasons": ["crm: deleting a customer is allowed for crm-admin"]}
}

test_admin_may_also_read if {
	portcullis.decision.allow with input as _call("GET", "/customers", ["crm-admin"])
}

test_no_role_is_denied_with_a_reason if {
	d := portcullis.decision with input as _call("GET", "/customers", ["billing"])
	d == {"allow": false, "reasons": ["crm: the caller holds no crm role"]}
}

test_writes_nobody_allows_fall_to_the_default_deny if {
	d := portcullis.decision with input as _call("POST", "/customers", ["crm-admin"])
	d == {"allow": false, "reasons": ["no rule allows POST /customers on connection crm"]}
}

test_nested_paths_are_not_customers if {
	not portcullis.decision.allow with input as _call("GET", "/customers/42/cards", ["crm-reader"])
	not portcullis.decision.allow with input as _call("DELETE", "/customers", ["crm-admin"])
	not portcullis.decision.allow with input as _call("DELETE", "/customers/", ["crm-admin"])
	not portcullis.decision.allow with input as _call("GET", "/customers-export", ["crm-reader"])
}

test_echo_is_open_to_crm_roles if {
	portcullis.decision.allow with input as _call("POST", "/echo", ["crm-reader"])
	portcullis.decision.allow with input as _call("GET", "/echo/a/b", ["crm-admin"])
	not portcullis.decision.allow with input as _call("GET", "/echo", [])
}

test_other_connections_are_not_judged_by_crm_rules if {
	other := object.union(_call("GET", "/customers", ["crm-reader"]), {"connection": {"name": "billing", "type": "http", "labels": {}}})
	d := portcullis.decision with input as other
	d == {"allow": false, "reasons": ["no rule allows GET /customers on connection billing"]}
}

test_missing_identity_is_denied if {
	no_identity := object.union(_call("GET", "/customers", []), {"identity": null})
	d := portcullis.decision with input as no_identity
	d.allow == false
}
