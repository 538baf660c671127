package portcullis.rules.crm_test

import data.portcullis

_call(method, path, roles) := {
	"identity": {"subject": "svc-test", "issuer": "http://127.0.0.1:8900", "audience": ["portcullis-enforcer"], "claims": {"roles": roles}},
	"connection": {"name": "crm", "type": "http", "labels": {}},
	"request": {"method": method, "path": path, "query": {}, "headers": {}, "body": null},
	"context": {"time": "2024-06-14T11:00:00Z", "time_ns": 1718362800000000000, "enforcer_id": "dev", "source_ip": "127.0.0.1", "request_id": "r1"},
}

# The same call by a caller whose token grants the `pii:read` scope (so nothing is masked).
_pii_call(method, path, roles) := object.union(_call(method, path, roles), {"identity": {"claims": {"scope": "crm pii:read"}}})

_export(roles, limits) := object.union(_pii_call("GET", "/customers/export", roles), {"request": {"query": {"limit": limits}}})

_with_body(call, body) := object.union(call, {"request": {"body": body}})

_with_claims(call, claims) := object.union(call, {"identity": {"claims": claims}})

_with_labels(call, labels) := object.union(call, {"connection": {"labels": labels}})

_customer_masks := {
	"fields": ["$..card_number", "$..ssn"],
	"detectors": ["credit_card", "email", "ssn"],
	"strategy": "redact",
}

_both_bodies := {"request_body": true, "response_body": true}

# --- roles ---

test_reader_may_list_and_get_customers if {
	portcullis.decision.allow with input as _call("GET", "/customers", ["crm-reader"])
	portcullis.decision.allow with input as _call("GET", "/customers/42", ["crm-reader"])
	portcullis.decision.allow with input as _call("HEAD", "/customers/42/notes", ["crm-reader"])
}

test_reader_may_not_delete_and_is_told_why if {
	d := portcullis.decision with input as _call("DELETE", "/customers/42", ["crm-reader"])
	d == {"allow": false, "reasons": ["crm: deleting a customer requires role crm-admin"]}
}

# --- escalation: deleting one customer needs an approver, whoever asks ---

_delete_reason := "crm: deleting a customer needs the approval of a crm-approvers member"

_delete_approval := {
	"required": true,
	"reason": _delete_reason,
	"approvers": ["group:crm-approvers"],
	"min_approvals": 1,
	"ttl_seconds": 900,
}

test_admin_deleting_one_customer_is_escalated_not_allowed if {
	d := portcullis.decision with input as _pii_call("DELETE", "/customers/42", ["crm-admin"])
	d == {"allow": false, "reasons": [_delete_reason], "approval": _delete_approval, "record": _both_bodies}
}

test_an_escalated_delete_keeps_its_mask_for_when_it_is_approved if {
	d := portcullis.decision with input as _call("DELETE", "/customers/42", ["crm-admin"])
	d == {
		"allow": false,
		"reasons": [_delete_reason],
		"approval": _delete_approval,
		"mask": _customer_masks,
		"record": _both_bodies,
	}
}

test_a_reader_cannot_escalate_a_delete_the_role_deny_wins if {
	d := portcullis.decision with input as _call("DELETE", "/customers/42", ["crm-reader", "crm-approver"])
	d == {"allow": false, "reasons": ["crm: deleting a customer requires role crm-admin"]}
}

test_only_deleting_one_customer_is_escalated if {
	not portcullis.decision.approval with input as _pii_call("GET", "/customers/42", ["crm-admin"])
	not portcullis.decision.approval with input as _with_body(_pii_call("PATCH", "/customers/42", ["crm-admin"]), {"name": "Ada"})
	not portcullis.decision.approval with input as _call("DELETE", "/customers/42/notes", ["crm-admin"])
	not portcullis.decision.approval with input as _call("DELETE", "/customers/export", ["crm-admin"])
	not portcullis.decision.approval with input as _call("DELETE", "/echo/customers/42", ["crm-admin"])
	portcullis.decision.allow with input as _call("DELETE", "/echo/customers/42", ["crm-admin"])
}

test_deleting_the_collection_is_denied_not_escalated if {
	d := portcullis.decision with input as _call("DELETE", "/customers", ["crm-admin"])
	d.allow == false
	not d.approval
}

test_a_delete_on_another_connection_is_not_escalated_by_crm if {
	other := object.union(_call("DELETE", "/customers/42", ["crm-admin"]), {"connection": {"name": "billing"}})
	d := portcullis.decision with input as other
	d == {"allow": false, "reasons": ["no rule allows DELETE /customers/42 on connection billing"]}
}

test_admin_may_also_read if {
	portcullis.decision.allow with input as _call("GET", "/customers", ["crm-admin"])
}

test_no_role_is_denied_with_a_reason if {
	d := portcullis.decision with input as _call("GET", "/customers", ["billing"])
	d == {"allow": false, "reasons": ["crm: the caller holds no crm role"]}
}

test_only_admin_may_create_and_update_customers if {
	body := {"name": "Ada", "email": "ada@example.com"}
	created := portcullis.decision with input as _with_body(_pii_call("POST", "/customers", ["crm-admin"]), body)
	created == {"allow": true, "reasons": ["crm: creating a customer is allowed for crm-admin"], "record": _both_bodies}
	portcullis.decision.allow with input as _with_body(_call("PATCH", "/customers/4", ["crm-admin"]), body)

	reader := portcullis.decision with input as _with_body(_call("POST", "/customers", ["crm-reader"]), body)
	reader == {"allow": false, "reasons": ["crm: creating a customer requires role crm-admin"]}
	patch := portcullis.decision with input as _with_body(_call("PATCH", "/customers/4", ["crm-reader"]), body)
	patch == {"allow": false, "reasons": ["crm: updating a customer requires role crm-admin"]}
}

test_writes_nobody_allows_fall_to_the_default_deny if {
	d := portcullis.decision with input as _call("PUT", "/customers/4", ["crm-admin"])
	d == {"allow": false, "reasons": ["no rule allows PUT /customers/4 on connection crm"]}
}

test_nested_paths_are_not_customers if {
	not portcullis.decision.allow with input as _call("GET", "/customers/42/cards", ["crm-reader"])
	not portcullis.decision.allow with input as _call("DELETE", "/customers/42/notes", ["crm-admin"])
	not portcullis.decision.allow with input as _call("GET", "/customers-export", ["crm-reader"])
	not portcullis.decision.allow with input as _call("DELETE", "/customers/export", ["crm-admin"])
}

test_echo_is_open_to_crm_roles if {
	portcullis.decision.allow with input as _call("POST", "/echo", ["crm-reader"])
	portcullis.decision.allow with input as _call("GET", "/echo/a/b", ["crm-admin"])
	not portcullis.decision.allow with input as _call("GET", "/echo", [])
}

test_sample_streams_are_readable_but_not_writable if {
	portcullis.decision.allow with input as _call("GET", "/chunked", ["crm-reader"])
	portcullis.decision.allow with input as _call("GET", "/large", ["crm-reader"])
	not portcullis.decision.allow with input as _call("POST", "/large", ["crm-admin"])
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

# --- guard: the whole collection cannot be deleted ---

test_deleting_the_whole_collection_is_denied_even_for_admin if {
	reason := "crm: deleting the whole customers collection is never allowed; delete customers one at a time"
	d := portcullis.decision with input as _call("DELETE", "/customers", ["crm-admin"])
	d == {"allow": false, "reasons": [reason]}
	slash := portcullis.decision with input as _call("DELETE", "/customers/", ["crm-admin"])
	slash == {"allow": false, "reasons": [reason]}
}

# --- guard: exports are bounded ---

test_an_export_up_to_1000_rows_is_allowed_and_recorded if {
	d := portcullis.decision with input as _export(["crm-reader"], ["1000"])
	d == {"allow": true, "reasons": ["crm: exporting at most 1000 customers is allowed for crm-reader"], "record": _both_bodies}
	portcullis.decision.allow with input as _export(["crm-reader"], ["1"])
}

test_an_export_above_1000_rows_is_denied if {
	d := portcullis.decision with input as _export(["crm-admin"], ["1001"])
	d == {"allow": false, "reasons": ["crm: an export may return at most 1000 rows"]}
}

test_an_export_without_a_limit_is_denied if {
	no_query := portcullis.decision with input as _pii_call("GET", "/customers/export", ["crm-reader"])
	no_query == {"allow": false, "reasons": ["crm: an export must say how many rows it wants: add limit=N with N at most 1000"]}
	other_param := object.union(_pii_call("GET", "/customers/export", ["crm-reader"]), {"request": {"query": {"LIMIT": ["5"]}}})
	not portcullis.decision.allow with input as other_param
}

test_an_export_limit_that_is_not_a_whole_number_from_1_is_denied if {
	reason := "crm: an export's limit must be a whole number from 1 to 1000"
	every limit in ["", "0", "-5", "+5", "5.0", "1e3", "5 ", "ten"] {
		d := portcullis.decision with input as _export(["crm-reader"], [limit])
		d == {"allow": false, "reasons": [reason]}
	}
}

test_an_export_with_two_limits_is_denied if {
	d := portcullis.decision with input as _export(["crm-reader"], ["5", "5000"])
	d.allow == false
	"crm: an export takes exactly one limit parameter" in d.reasons
}

test_an_export_with_a_malformed_query_is_denied if {
	malformed := object.union(_pii_call("GET", "/customers/export", ["crm-reader"]), {"request": {"query": {"limit": "5"}}})
	not portcullis.decision.allow with input as malformed
}

# --- guard: no card numbers in request bodies ---

test_a_request_body_with_a_card_number_is_denied if {
	reason := "crm: request bodies must not carry payment card numbers"
	every card in ["4111111111111111", "4111 1111 1111 1111", "5555-5555-5555-4444", "3782 822463 10005"] {
		body := {"name": "Ada", "card_number": card}
		d := portcullis.decision with input as _with_body(_pii_call("POST", "/customers", ["crm-admin"]), body)
		d == {"allow": false, "reasons": [reason]}
	}
}

test_a_card_number_in_free_text_or_on_echo_is_denied if {
	text := "please charge card 6011-1111-1111-1117 for the renewal"
	not portcullis.decision.allow with input as _with_body(_pii_call("POST", "/echo", ["crm-admin"]), text)
	not portcullis.decision.allow with input as _with_body(_pii_call("PATCH", "/customers/3", ["crm-admin"]), {"notes": [text]})
}

test_a_request_body_with_a_near_miss_number_is_allowed if {
	# Luhn fails, 12 digits, and a Luhn-valid 19-digit number outside card issuer ranges.
	body := {"name": "Ada", "ref": "4111 1111 1111 1112", "short": "411111111117", "time_ns": 1718362800123000003}
	portcullis.decision.allow with input as _with_body(_pii_call("POST", "/customers", ["crm-admin"]), body)
}

# --- masking ---

test_a_caller_without_pii_read_gets_customers_masked if {
	d := portcullis.decision with input as _call("GET", "/customers/42", ["crm-reader"])
	d == {"allow": true, "reasons": ["crm: reading customers is allowed for crm-reader"], "mask": _customer_masks}
}

test_a_caller_with_pii_read_gets_customers_unmasked if {
	d := portcullis.decision with input as _pii_call("GET", "/customers/42", ["crm-reader"])
	d == {"allow": true, "reasons": ["crm: reading customers is allowed for crm-reader"]}
	array_scope := _with_claims(_call("GET", "/customers", ["crm-reader"]), {"scope": ["pii:read"]})
	not portcullis.decision.mask with input as array_scope
}

test_a_similar_scope_or_role_does_not_unmask if {
	not_quite := _with_claims(_call("GET", "/customers", ["crm-reader", "pii:read"]), {"scope": "pii:readonly pii:write"})
	portcullis.decision.mask == _customer_masks with input as not_quite
}

test_the_mask_strategy_claim_chooses_partial_or_hash if {
	partial := _with_claims(_call("GET", "/customers", ["crm-reader"]), {"mask_strategy": "partial"})
	portcullis.decision.mask.strategy == "partial" with input as partial
	hash := _with_claims(_call("GET", "/customers", ["crm-reader"]), {"mask_strategy": "hash"})
	portcullis.decision.mask.strategy == "hash" with input as hash
}

test_the_mask_strategy_label_chooses_for_the_connection if {
	hashed := _with_labels(_call("GET", "/customers", ["crm-reader"]), {"mask_strategy": "hash"})
	portcullis.decision.mask.strategy == "hash" with input as hashed
}

test_label_and_claim_together_give_the_stricter_strategy if {
	partial_label := _with_labels(_call("GET", "/customers", ["crm-reader"]), {"mask_strategy": "partial"})
	portcullis.decision.mask.strategy == "hash" with input as _with_claims(partial_label, {"mask_strategy": "hash"})
	hash_label := _with_labels(_call("GET", "/customers", ["crm-reader"]), {"mask_strategy": "hash"})
	portcullis.decision.mask.strategy == "hash" with input as _with_claims(hash_label, {"mask_strategy": "partial"})
}

test_an_unknown_or_non_string_strategy_masks_with_redact if {
	unknown := _with_claims(_call("GET", "/customers", ["crm-reader"]), {"mask_strategy": "none"})
	portcullis.decision.mask.strategy == "redact" with input as unknown
	number := _with_claims(_call("GET", "/customers", ["crm-reader"]), {"mask_strategy": 1})
	portcullis.decision.mask.strategy == "redact" with input as number
}

test_writes_and_exports_by_callers_without_pii_read_are_masked_and_recorded if {
	d := portcullis.decision with input as object.union(_call("GET", "/customers/export", ["crm-reader"]), {"request": {"query": {"limit": ["10"]}}})
	d.mask == _customer_masks
	d.record == _both_bodies
}

test_reads_are_not_recorded if {
	not portcullis.decision.record with input as _call("GET", "/customers", ["crm-reader"])
	not portcullis.decision.record with input as _call("GET", "/echo", ["crm-reader"])
	portcullis.decision.record == _both_bodies with input as _call("PUT", "/echo", ["crm-reader"])
}

# --- decision log masking ---

test_log_mask_adds_iban_and_phone_detection_on_crm if {
	m := portcullis.log_mask with input as _call("GET", "/customers", ["crm-reader"])
	iban_phone := {"op": "detect", "path": "/call/response_body", "detectors": ["iban", "phone"], "strategy": "redact"}
	iban_phone in m
	count(m) == 6
	other := object.union(_call("GET", "/customers", ["crm-reader"]), {"connection": {"name": "billing"}})
	count(portcullis.log_mask) == 3 with input as other
}

test_a_body_with_more_numbers_than_the_check_examines_is_denied if {
	numbers := concat(" ", [g | some _ in numbers.range(1, 5000); g := "1234"])
	d := portcullis.decision with input as _with_body(_pii_call("POST", "/echo", ["crm-admin"]), {"n": numbers})
	d == {"allow": false, "reasons": ["crm: the request body has too many numbers to check for payment card numbers"]}
}
