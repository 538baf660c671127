package portcullis_test

import data.portcullis

_get_crm := {
	"identity": {"subject": "svc-a", "claims": {}},
	"connection": {"name": "nowhere", "type": "http", "labels": {}},
	"request": {"method": "GET", "path": "/x"},
}

test_nothing_allows_means_deny_with_a_reason_naming_the_request if {
	d := portcullis.decision with input as _get_crm
		with data.portcullis.rules as {}
	d == {"allow": false, "reasons": ["no rule allows GET /x on connection nowhere"]}
}

test_one_allow_and_no_deny_allows if {
	d := portcullis.decision with input as _get_crm
		with data.portcullis.rules as {"team": {"allow": {"reads are fine"}}}
	d == {"allow": true, "reasons": ["team: reads are fine"]}
}

test_any_deny_overrides_any_allow if {
	rules := {
		"a": {"allow": {"a says yes"}},
		"b": {"deny": {"b says no"}},
	}
	d := portcullis.decision with input as _get_crm with data.portcullis.rules as rules
	d == {"allow": false, "reasons": ["b: b says no"]}
}

test_reasons_are_sorted_and_merged_across_packages if {
	rules := {
		"z": {"deny": {"second", "first"}},
		"a": {"deny": {"third"}},
	}
	d := portcullis.decision with input as _get_crm with data.portcullis.rules as rules
	d.reasons == ["a: third", "z: first", "z: second"]
}

test_non_string_contributions_are_ignored if {
	d := portcullis.decision with input as _get_crm
		with data.portcullis.rules as {"odd": {"allow": {1, true}}}
	d.allow == false
}

test_missing_request_fields_still_give_a_reason if {
	d := portcullis.decision with input as {} with data.portcullis.rules as {}
	d == {"allow": false, "reasons": ["no rule allows request (no path) on connection (unknown)"]}
}

test_an_allow_without_obligations_carries_neither_mask_nor_record if {
	d := portcullis.decision with input as _get_crm
		with data.portcullis.rules as {"team": {"allow": {"ok"}, "mask_strategy": {"hash"}}}
	d == {"allow": true, "reasons": ["team: ok"]}
}

test_mask_fields_and_detectors_are_merged_across_packages_and_sorted if {
	rules := {
		"a": {"allow": {"ok"}, "mask_fields": {"$..ssn"}, "mask_detectors": {"email"}},
		"b": {"mask_fields": {"$..card_number", "$..ssn"}, "mask_detectors": {"credit_card", 7}},
	}
	d := portcullis.decision with input as _get_crm with data.portcullis.rules as rules
	d == {
		"allow": true,
		"reasons": ["a: ok"],
		"mask": {"fields": ["$..card_number", "$..ssn"], "detectors": ["credit_card", "email"], "strategy": "redact"},
	}
}

test_mask_strategy_defaults_to_redact if {
	d := portcullis.decision with input as _get_crm
		with data.portcullis.rules as {"a": {"allow": {"ok"}, "mask_detectors": {"email"}}}
	d.mask.strategy == "redact"
}

test_the_strictest_mask_strategy_wins if {
	partial_only := {"a": {"allow": {"ok"}, "mask_detectors": {"email"}, "mask_strategy": {"partial"}}}
	portcullis.decision.mask.strategy == "partial" with input as _get_crm with data.portcullis.rules as partial_only

	partial_and_hash := {
		"a": {"allow": {"ok"}, "mask_detectors": {"email"}, "mask_strategy": {"partial"}},
		"b": {"mask_strategy": {"hash"}},
	}
	portcullis.decision.mask.strategy == "hash" with input as _get_crm with data.portcullis.rules as partial_and_hash

	all_three := {"a": {"allow": {"ok"}, "mask_detectors": {"email"}, "mask_strategy": {"partial", "hash", "redact"}}}
	portcullis.decision.mask.strategy == "redact" with input as _get_crm with data.portcullis.rules as all_three
}

test_an_unknown_mask_strategy_counts_as_redact if {
	rules := {"a": {"allow": {"ok"}, "mask_detectors": {"email"}, "mask_strategy": {"partial", "none"}}}
	portcullis.decision.mask.strategy == "redact" with input as _get_crm with data.portcullis.rules as rules
}

test_record_parts_are_merged_across_packages if {
	rules := {
		"a": {"allow": {"ok"}, "record": {"request_body"}},
		"b": {"record": {"response_body"}},
	}
	d := portcullis.decision with input as _get_crm with data.portcullis.rules as rules
	d.record == {"request_body": true, "response_body": true}
}

test_a_misspelt_record_part_reaches_the_enforcer_to_be_refused if {
	rules := {"a": {"allow": {"ok"}, "record": {"response_bodies"}}}
	d := portcullis.decision with input as _get_crm with data.portcullis.rules as rules
	d.record == {"response_bodies": true}
}

test_a_deny_carries_no_obligations if {
	rules := {
		"a": {"allow": {"ok"}, "mask_detectors": {"email"}, "record": {"request_body"}},
		"b": {"deny": {"no"}},
	}
	d := portcullis.decision with input as _get_crm with data.portcullis.rules as rules
	d == {"allow": false, "reasons": ["b: no"]}
}

_default_detects := [
	{"op": "detect", "path": "/call/request_body", "detectors": ["credit_card", "email", "ssn"], "strategy": "redact"},
	{"op": "detect", "path": "/call/response_body", "detectors": ["credit_card", "email", "ssn"], "strategy": "redact"},
	{"op": "detect", "path": "/input/request/body", "detectors": ["credit_card", "email", "ssn"], "strategy": "redact"},
]

test_log_mask_by_default_erases_nothing_and_detects_in_every_body if {
	m := portcullis.log_mask with input as _get_crm with data.portcullis.rules as {}
	m == _default_detects
}

test_log_mask_adds_package_entries_and_ignores_other_values if {
	upsert := {"op": "upsert", "path": "/input/identity/claims/email", "value": "(erased)"}
	rules := {"a": {"log_mask": {"/input/request/headers/x-session", upsert, 42}}}
	m := portcullis.log_mask with input as _get_crm with data.portcullis.rules as rules
	count(m) == 5
	"/input/request/headers/x-session" in m
	upsert in m
	every entry in _default_detects {
		entry in m
	}
}

# --- approval ---

_needs_ann := {"reason": "needs ann", "approvers": ["user:ann"], "min_approvals": 1, "ttl_seconds": 600}

test_an_approval_requirement_turns_an_allow_into_an_escalation if {
	rules := {"a": {"allow": {"ok"}, "approval": {_needs_ann}}}
	d := portcullis.decision with input as _get_crm with data.portcullis.rules as rules
	d == {
		"allow": false,
		"reasons": ["a: needs ann"],
		"approval": {"required": true, "reason": "a: needs ann", "approvers": ["user:ann"], "min_approvals": 1, "ttl_seconds": 600},
	}
}

test_an_approval_requirement_without_any_allow_is_the_default_deny if {
	d := portcullis.decision with input as _get_crm with data.portcullis.rules as {"a": {"approval": {_needs_ann}}}
	d == {"allow": false, "reasons": ["no rule allows GET /x on connection nowhere"]}
}

test_any_deny_wins_over_an_approval_requirement if {
	rules := {
		"a": {"allow": {"ok"}, "approval": {_needs_ann}},
		"b": {"deny": {"no"}},
	}
	d := portcullis.decision with input as _get_crm with data.portcullis.rules as rules
	d == {"allow": false, "reasons": ["b: no"]}
}

test_requirements_of_several_packages_merge_strictly if {
	rules := {
		"a": {"allow": {"ok"}, "approval": {_needs_ann}},
		"b": {"approval": {{"reason": "needs ops twice", "approvers": {"group:ops", "user:ann"}, "min_approvals": 2, "ttl_seconds": 3600}}},
		"c": {"approval": {{"reason": "needs sec", "approvers": ["group:sec"], "ttl_seconds": 300}}},
	}
	d := portcullis.decision with input as _get_crm with data.portcullis.rules as rules
	d.allow == false
	d.reasons == ["a: needs ann", "b: needs ops twice", "c: needs sec"]
	d.approval == {
		"required": true,
		"reason": "a: needs ann; b: needs ops twice; c: needs sec",
		"approvers": ["group:ops", "group:sec", "user:ann"],
		"min_approvals": 2,
		"ttl_seconds": 300,
	}
}

test_min_approvals_and_ttl_default_to_the_enforcers_defaults if {
	rules := {"a": {"allow": {"ok"}, "approval": {{"reason": "why", "approvers": ["group:x"]}}}}
	d := portcullis.decision with input as _get_crm with data.portcullis.rules as rules
	d.approval.min_approvals == 1
	d.approval.ttl_seconds == 900
}

test_an_escalation_carries_mask_and_record_for_the_approved_call if {
	rules := {"a": {
		"allow": {"ok"},
		"approval": {_needs_ann},
		"mask_detectors": {"email"},
		"record": {"request_body"},
	}}
	d := portcullis.decision with input as _get_crm with data.portcullis.rules as rules
	d.allow == false
	d.approval.required == true
	d.mask == {"fields": [], "detectors": ["email"], "strategy": "redact"}
	d.record == {"request_body": true}
}

test_a_malformed_approval_requirement_denies_instead_of_being_dropped if {
	cases := [
		[{true}, "a: an approval requirement must be an object"],
		[{{"approvers": ["group:x"]}}, "a: an approval requirement needs a reason (a non-empty string)"],
		[{{"reason": "", "approvers": ["group:x"]}}, "a: an approval requirement needs a reason (a non-empty string)"],
		[{{"reason": "why"}}, "a: an approval requirement needs approvers (a non-empty array of strings)"],
		[{{"reason": "why", "approvers": []}}, "a: an approval requirement needs approvers (a non-empty array of strings)"],
		[{{"reason": "why", "approvers": "group:x"}}, "a: an approval requirement needs approvers (a non-empty array of strings)"],
		[{{"reason": "why", "approvers": ["group:x", 7]}}, "a: an approval requirement needs approvers (a non-empty array of strings)"],
		[{{"reason": "why", "approvers": ["group:x"], "ttl_seconds": "900"}}, "a: an approval requirement's ttl_seconds must be a number"],
		[{{"reason": "why", "approvers": ["group:x"], "min_approvals": null}}, "a: an approval requirement's min_approvals must be a number"],
	]
	every c in cases {
		d := portcullis.decision with input as _get_crm
			with data.portcullis.rules as {"a": {"allow": {"ok"}, "approval": c[0]}}
		d == {"allow": false, "reasons": [c[1]]}
	}
}

test_an_approval_that_is_not_a_set_denies if {
	d := portcullis.decision with input as _get_crm
		with data.portcullis.rules as {"a": {"allow": {"ok"}, "approval": true}}
	d == {"allow": false, "reasons": ["a: approval must be a set of requirements"]}
}

test_approver_values_are_passed_on_for_the_enforcer_to_validate if {
	rules := {"a": {"allow": {"ok"}, "approval": {{"reason": "why", "approvers": ["team x"], "min_approvals": 0}}}}
	d := portcullis.decision with input as _get_crm with data.portcullis.rules as rules
	d.approval.approvers == ["team x"]
	d.approval.min_approvals == 0
}
