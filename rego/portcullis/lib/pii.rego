# METADATA
# title: Payment card detection for request guards
# description: |
#   Finds payment card numbers in any JSON value (the parsed request body, a string) using only
#   builtins the enforcer's WASM runtime has (json.marshal, regex.find_all_string_submatch_n,
#   substring, to_number). A card number is a run of 13 to 19 digits, written plain or in at most five
#   groups separated by single spaces or dashes, that starts with 2-6 (the issuer ranges of the
#   card networks) and passes the Luhn check.
# scope: package
package portcullis.lib.pii

# METADATA
# description: |
#   True when some string, number or key inside `value` (any JSON: object, array, string,
#   number) contains a payment card number. False, not checked, when the value has more digit
#   groups than `max_checked_groups`: a guard denies on `too_many_digit_groups` too.
carries_card_number(value) if runs_carry_card_number(digit_runs(value))

# METADATA
# description: |
#   How many digit groups a check examines at most. It bounds the work a caller can cause with
#   a body full of numbers (in WASM, some 15 µs a group): beyond it a guard denies unchecked.
max_checked_groups := 4096

# METADATA
# description: |
#   Candidate digit runs in `value`: each run of at least 13 characters of digits joined by
#   single spaces or dashes, as its array of digit groups (["4111", "1111", "1111", "1111"]).
#   Compute it once per value and pass it to `runs_carry_card_number` and `too_many_digit_groups`.
digit_runs(value) := {groups |
	some match in regex.find_all_string_submatch_n(_digit_runs_pattern, _text_of(value), -1)
	count(match[0]) >= 13
	groups := split(replace(match[0], "-", " "), " ")
}

# METADATA
# description: True when the runs hold more digit groups than a check examines.
too_many_digit_groups(runs) if sum([count(groups) | some groups in runs]) > max_checked_groups

# METADATA
# description: True when one of the runs (from `digit_runs`) holds a payment card number.
runs_carry_card_number(runs) if {
	not too_many_digit_groups(runs)
	some groups in runs
	_groups_carry_card_number(groups)
}

# METADATA
# description: True when `digits` (a string of decimal digits only) passes the Luhn check.
luhn_valid(digits) if {
	is_string(digits)
	trim_left(digits, "0123456789") == ""
	n := count(digits)
	n >= 2
	lead := n % 2
	pair_count := (n - lead) / 2
	pairs := [_luhn_pairs[substring(digits, lead + (2 * k), 2)] | some k in numbers.range(0, pair_count - 1)]
	(_luhn_lead(digits, lead) + sum(pairs)) % 10 == 0
}

# Every other digit from the right is doubled; a doubled digit above 9 has 9 taken off. Digits
# are summed two at a time ("ab" is worth doubled(a) + b), halving the work per number.
_luhn_doubled := [0, 2, 4, 6, 8, 1, 3, 5, 7, 9]

_luhn_pairs[pair] := _luhn_doubled[a] + b if {
	some a in numbers.range(0, 9)
	some b in numbers.range(0, 9)
	pair := concat("", [format_int(a, 10), format_int(b, 10)])
}

# An odd-length number starts with one digit that is not doubled.
_luhn_lead(_, 0) := 0

_luhn_lead(digits, 1) := to_number(substring(digits, 0, 1))

# One regular-expression pass over the JSON text of the whole value is much cheaper than a walk
# over its leaves. Digit runs cannot span two JSON tokens (quotes, commas and colons separate
# them), numbers appear as their digits, and object keys are searched too.
_text_of(value) := value if is_string(value)

else := json.marshal(value)

# Digit groups joined by single spaces or dashes: "4111 1111-1111 1111", "378282246310005".
_digit_runs_pattern := `[0-9]+(?:[ -][0-9]+)*`

# Cards are printed in at most five groups (4-4-4-4-3 for 19 digits), so windows of up to five
# neighbouring groups are tried; "call 555 0100 4111 1111 1111 1111" still finds the card, while
# a list of single digits is not read as one long number.
_max_groups := 5

_groups_carry_card_number(groups) if {
	last := count(groups) - 1
	some first in numbers.range(0, last)
	substring(groups[first], 0, 1) in _issuer_first_digits
	some end in numbers.range(first, min([(first + _max_groups) - 1, last]))
	_is_card_number(concat("", array.slice(groups, first, end + 1)))
}

# Card networks issue from 2 (Mastercard 2-series) to 6 (Discover, UnionPay); other leading
# digits are timestamps, order numbers and the like.
_issuer_first_digits := {"2", "3", "4", "5", "6"}

_is_card_number(digits) if {
	count(digits) >= 13
	count(digits) <= 19
	luhn_valid(digits)
}
