package portcullis.lib_test

import data.portcullis.lib

test_roles_from_an_array_claim if {
	lib.roles == {"crm-reader", "ops"} with input as {"identity": {"claims": {"roles": ["crm-reader", "ops", 7]}}}
}

test_roles_from_a_space_separated_claim if {
	lib.roles == {"crm-reader", "ops"} with input as {"identity": {"claims": {"roles": "crm-reader  ops"}}}
}

test_no_roles_without_identity if {
	count(lib.roles) == 0 with input as {"identity": null}
}

test_has_role_and_has_any_role if {
	lib.has_role("a") with input as {"identity": {"claims": {"roles": ["a"]}}}
	not lib.has_role("b") with input as {"identity": {"claims": {"roles": ["a"]}}}
	lib.has_any_role({"b", "a"}) with input as {"identity": {"claims": {"roles": ["a"]}}}
	not lib.has_any_role(["b"]) with input as {"identity": {"claims": {"roles": ["a"]}}}
}

test_connection_and_method if {
	lib.connection_is("crm") with input as {"connection": {"name": "crm"}}
	not lib.connection_is("crm") with input as {"connection": {"name": "billing"}}
	lib.method_in({"GET", "HEAD"}) with input as {"request": {"method": "HEAD"}}
	not lib.method_in({"GET"}) with input as {"request": {"method": "DELETE"}}
}

test_path_prefix_respects_segments if {
	lib.path_has_prefix("/customers") with input as {"request": {"path": "/customers"}}
	lib.path_has_prefix("/customers/") with input as {"request": {"path": "/customers/7"}}
	not lib.path_has_prefix("/customers") with input as {"request": {"path": "/customers-export"}}
}

test_path_glob if {
	lib.path_matches("/customers/*") with input as {"request": {"path": "/customers/7"}}
	not lib.path_matches("/customers/*") with input as {"request": {"path": "/customers/7/notes"}}
	lib.path_matches("/customers/**") with input as {"request": {"path": "/customers/7/notes"}}
}

# 2024-06-14 is a Friday; 11:00 UTC is 13:00 in Berlin.
_friday_11_utc := 1718362800000000000

test_now_prefers_the_input_clock if {
	lib.now_ns == _friday_11_utc with input as {"context": {"time_ns": _friday_11_utc}}
}

test_now_falls_back_to_time_now_ns if {
	lib.now_ns == 42 with input as {} with time.now_ns as 42
}

test_business_hours_in_the_given_zone if {
	lib.within_business_hours("Europe/Berlin", 9, 17) with input as {"context": {"time_ns": _friday_11_utc}}
	not lib.within_business_hours("Asia/Tokyo", 9, 17) with input as {"context": {"time_ns": _friday_11_utc}}
}

test_no_business_hours_at_the_weekend if {
	saturday := time.add_date(_friday_11_utc, 0, 0, 1)
	not lib.within_business_hours("Europe/Berlin", 0, 24) with input as {"context": {"time_ns": saturday}}
}

test_scopes_from_a_space_separated_claim if {
	lib.scopes == {"pii:read", "crm"} with input as {"identity": {"claims": {"scope": "crm  pii:read"}}}
}

test_scopes_from_an_array_claim if {
	lib.scopes == {"pii:read"} with input as {"identity": {"claims": {"scope": ["pii:read", 7]}}}
}

test_has_scope_needs_the_exact_scope if {
	lib.has_scope("pii:read") with input as {"identity": {"claims": {"scope": "openid pii:read"}}}
	not lib.has_scope("pii:read") with input as {"identity": {"claims": {"scope": "pii:readonly pii"}}}
	not lib.has_scope("pii:read") with input as {"identity": {"claims": {"roles": ["pii:read"]}}}
	not lib.has_scope("pii:read") with input as {"identity": null}
}
