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
