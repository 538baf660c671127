package portcullis.lib.pii_test

import data.portcullis.lib.pii

test_luhn_accepts_test_card_numbers_and_rejects_a_changed_digit if {
	pii.luhn_valid("4111111111111111")
	pii.luhn_valid("378282246310005")
	pii.luhn_valid("6011000990139424")
	not pii.luhn_valid("4111111111111112")
	not pii.luhn_valid("4111 1111 1111 1111")
	not pii.luhn_valid("")
}

test_a_plain_card_number_in_a_string_is_found if {
	pii.carries_card_number("4111111111111111")
	pii.carries_card_number({"card": "pay with 5555555555554444 please"})
}

test_spaced_and_dashed_card_numbers_are_found if {
	pii.carries_card_number({"card": "4111 1111 1111 1111"})
	pii.carries_card_number({"card": "5555-5555-5555-4444"})
	pii.carries_card_number({"card": "3782 822463 10005"})
	pii.carries_card_number({"card": "4012-8888 8888-1881"})
}

test_card_numbers_deep_inside_arrays_and_objects_are_found if {
	pii.carries_card_number({"customers": [{"name": "Ada"}, {"notes": ["x", {"pan": "6011 1111 1111 1117"}]}]})
	pii.carries_card_number({"4111111111111111": "used as a key"})
}

test_neighbouring_json_values_are_not_joined_into_one_number if {
	# "4111 1111" + "1111 1111" would be a card if the two strings were read as one.
	not pii.carries_card_number(["4111 1111", "1111 1111"])
	not pii.carries_card_number({"a": 41111111, "b": 11111111})
}

test_a_card_number_sent_as_a_json_number_is_found if {
	pii.carries_card_number({"card": 4111111111111111})
}

test_a_card_number_next_to_other_digit_groups_is_found if {
	pii.carries_card_number("call +1 415 555 0100 4111 1111 1111 1111 today")
	pii.carries_card_number("4111 1111 1111 1111 2")
}

test_luhn_failures_are_not_card_numbers if {
	not pii.carries_card_number({"card": "4111 1111 1111 1112"})
	not pii.carries_card_number({"card": "5555-5555-5555-4440"})
}

test_runs_outside_13_to_19_digits_are_not_card_numbers if {
	# 12 digits, Luhn-valid: too short.
	pii.luhn_valid("411111111117")
	not pii.carries_card_number("411111111117")

	# 20 digits written as one run is not a card, even though its first 16 digits are one.
	not pii.carries_card_number("41111111111111110000")
}

test_numbers_outside_card_issuer_ranges_are_not_card_numbers if {
	# Luhn-valid nanosecond timestamp (starts with 1): not a card.
	pii.luhn_valid("1718362800123000003")
	not pii.carries_card_number({"time_ns": "1718362800123000003"})
}

test_long_lists_of_small_numbers_are_not_read_as_one_card if {
	# "4 1 1 1 ..." spells a Luhn-valid number, but only across more than five groups.
	not pii.carries_card_number("4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1")
	not pii.carries_card_number("41 11 11 11 11 11 11 11")
}

test_values_without_strings_or_digits_carry_no_card if {
	not pii.carries_card_number(null)
	not pii.carries_card_number({"n": 42, "ok": true, "list": []})
	not pii.carries_card_number("no digits here")
}

test_luhn_handles_odd_and_even_lengths if {
	pii.luhn_valid("79927398713")
	not pii.luhn_valid("79927398710")
	pii.luhn_valid("18")
	not pii.luhn_valid("7")
}

test_digit_runs_are_split_into_groups if {
	pii.digit_runs({"a": "x 4111 1111-1111 1111 y 12", "b": 5555555555554444}) == {
		["4111", "1111", "1111", "1111"],
		["5555555555554444"],
	}
}

test_too_many_digit_groups_stops_the_check if {
	runs := pii.digit_runs(concat(" ", [g | some _ in numbers.range(1, 4100); g := "4111"]))
	pii.too_many_digit_groups(runs)
	not pii.runs_carry_card_number(runs)
	not pii.too_many_digit_groups(pii.digit_runs("4111 1111 1111 1111"))
}
