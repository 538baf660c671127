# METADATA
# title: Example rules for the dev stack's `crm` connection
# description: |
#   The sample customers API (apps/sample-upstream). Holders of role crm-reader (or crm-admin)
#   may read customers, their notes, a bounded export and the sample streams; only crm-admin may
#   create, update or delete one customer, and deleting one needs the approval of a member of
#   group crm-approvers first (admins included). Guards deny for everyone: deleting the whole
#   collection, an export without a limit of at most 1000 rows, and a request body carrying a
#   payment card number. Responses are masked for callers without the `pii:read` scope, and
#   writes and exports are recorded with their bodies. Only requests on connection `crm` are judged.
# scope: package
package portcullis.rules.crm

import data.portcullis.lib
import data.portcullis.lib.pii

_readers := {"crm-reader", "crm-admin"}

_is_crm if lib.connection_is("crm")

# --- paths of the sample API ---

_collection_path if input.request.path in {"/customers", "/customers/"}

_export_path if input.request.path == "/customers/export"

# One customer: exactly one non-empty segment after /customers/ ("/customers/" is not one, and
# "export" names the export, not a customer).
# Split once, compared without regular expressions: the WASM runtime compiles a regex on every
# evaluation, and these rules run on every call.
_segments := split(input.request.path, "/")

_customer_path if {
	count(_segments) == 3
	_segments[0] == ""
	_segments[1] == "customers"
	_segments[2] != ""
	not _export_path
}

_notes_path if {
	count(_segments) == 4
	_segments[0] == ""
	_segments[1] == "customers"
	_segments[2] != ""
	_segments[3] == "notes"
}

_deletes_one_customer if {
	input.request.method == "DELETE"
	_customer_path
}

_is_customers_read if input.request.path == "/customers"

_is_customers_read if _customer_path

_is_customers_read if _notes_path

# --- allow ---

# METADATA
# description: Why this package allows the request (read by the entrypoint).
allow contains "reading customers is allowed for crm-reader" if {
	_is_crm
	lib.method_in({"GET", "HEAD"})
	_is_customers_read
	lib.has_any_role(_readers)
}

allow contains "exporting at most 1000 customers is allowed for crm-reader" if {
	_is_crm
	lib.method_in({"GET", "HEAD"})
	_export_path
	lib.has_any_role(_readers)
}

allow contains "the sample streams are readable by crm roles" if {
	_is_crm
	lib.method_in({"GET", "HEAD"})
	input.request.path in {"/chunked", "/large"}
	lib.has_any_role(_readers)
}

allow contains "creating a customer is allowed for crm-admin" if {
	_is_crm
	input.request.method == "POST"
	input.request.path == "/customers"
	lib.has_role("crm-admin")
}

allow contains "updating a customer is allowed for crm-admin" if {
	_is_crm
	input.request.method == "PATCH"
	_customer_path
	lib.has_role("crm-admin")
}

# Escalated by the approval requirement below: a crm-admin's delete waits for an approver.
allow contains "deleting a customer is allowed for crm-admin once approved" if {
	_is_crm
	_deletes_one_customer
	lib.has_role("crm-admin")
}

allow contains "/echo is open to crm roles" if {
	_is_crm
	lib.path_has_prefix("/echo")
	lib.has_any_role(_readers)
}

# --- deny: roles ---

# METADATA
# description: Why this package denies the request; any deny overrides every allow.
deny contains "creating a customer requires role crm-admin" if {
	_is_crm
	input.request.method == "POST"
	input.request.path == "/customers"
	not lib.has_role("crm-admin")
}

deny contains "updating a customer requires role crm-admin" if {
	_is_crm
	input.request.method == "PATCH"
	_customer_path
	not lib.has_role("crm-admin")
}

deny contains "deleting a customer requires role crm-admin" if {
	_is_crm
	_deletes_one_customer
	not lib.has_role("crm-admin")
}

deny contains "the caller holds no crm role" if {
	_is_crm
	not lib.has_any_role(_readers)
}

# --- deny: guards that hold for every caller, crm-admin included ---

deny contains "deleting the whole customers collection is never allowed; delete customers one at a time" if {
	_is_crm
	input.request.method == "DELETE"
	_collection_path
}

_max_export_rows := 1000

# The upstream exports every customer when `limit` is absent, so an export must say how many.
# The enforcer always sends arrays; anything else is treated as one malformed value.
_export_limits := limits if {
	limits := object.get(input, ["request", "query", "limit"], [])
	is_array(limits)
} else := [null]

_export_guarded if {
	_is_crm
	lib.method_in({"GET", "HEAD"})
	_export_path
}

deny contains "an export must say how many rows it wants: add limit=N with N at most 1000" if {
	_export_guarded
	count(_export_limits) == 0
}

# Two values could be read differently by the policy and by the upstream.
deny contains "an export takes exactly one limit parameter" if {
	_export_guarded
	count(_export_limits) > 1
}

deny contains "an export's limit must be a whole number from 1 to 1000" if {
	_export_guarded
	some limit in _export_limits
	not _positive_whole_number(limit)
}

deny contains "an export may return at most 1000 rows" if {
	_export_guarded
	some limit in _export_limits
	_positive_whole_number(limit)
	to_number(limit) > _max_export_rows
}

_positive_whole_number(text) if {
	is_string(text)
	text != ""
	trim_left(text, "0123456789") == ""
	to_number(text) > 0
}

# Card numbers do not belong in the CRM; a caller that sends one is told so before it is stored.
# This catches mistakes, not a determined caller (who can spell a number in words).
# Only a request with a body is searched: the search costs a regular expression per call.
_body_digit_runs := pii.digit_runs(input.request.body) if {
	_is_crm
	input.request.body != null
} else := set()

deny contains "request bodies must not carry payment card numbers" if {
	_is_crm
	pii.runs_carry_card_number(_body_digit_runs)
}

# The card check has a work limit; a body beyond it is refused rather than let through unchecked.
deny contains "the request body has too many numbers to check for payment card numbers" if {
	_is_crm
	pii.too_many_digit_groups(_body_digit_runs)
}

# --- escalation: a human approves before a customer is deleted ---

# METADATA
# description: |
#   Deleting one customer cannot be undone, so nobody (crm-admin included) does it alone: the
#   call is escalated, and forwarded once a member of group crm-approvers has approved this exact
#   call (same caller, path and body) within 15 minutes. A caller who may not delete at all is
#   still denied: any deny wins over an approval requirement.
approval contains {
	"reason": "deleting a customer needs the approval of a crm-approvers member",
	"approvers": ["group:crm-approvers"],
	"min_approvals": 1,
	"ttl_seconds": 900,
} if {
	_is_crm
	_deletes_one_customer
}

# --- obligations: masking and recording ---

# The OAuth scope that lets a caller see customers' personal data unmasked.
_pii_reader if lib.has_scope("pii:read")

_masks if {
	_is_crm
	not _pii_reader
}

# METADATA
# description: JSON paths the enforcer masks in the response for callers without `pii:read`.
mask_fields contains field if {
	_masks
	some field in {"$..card_number", "$..ssn"}
}

# METADATA
# description: Detectors run over every response string for callers without `pii:read`.
mask_detectors contains detector if {
	_masks
	some detector in {"credit_card", "email", "ssn"}
}

# METADATA
# description: |
#   The connection label `mask_strategy` (the operator's choice for the connection) and the
#   token claim `mask_strategy` (the identity provider's choice for the caller) each name a
#   strategy; the entrypoint keeps the strictest, and redact when neither is set.
mask_strategy contains strategy if {
	_masks
	strategy := input.connection.labels.mask_strategy
	is_string(strategy)
}

mask_strategy contains strategy if {
	_masks
	strategy := input.identity.claims.mask_strategy
	is_string(strategy)
}

_records_bodies if lib.method_in({"POST", "PUT", "PATCH", "DELETE"})

_records_bodies if _export_path

# METADATA
# description: Writes and exports keep their request and response bodies in the audit record.
record contains part if {
	_is_crm
	_records_bodies
	some part in {"request_body", "response_body"}
}

# METADATA
# description: |
#   Recorded bodies of customers carry IBANs and phone numbers too; the decision log masks them
#   on top of the entrypoint's default card, SSN and e-mail detection.
log_mask contains {"op": "detect", "path": pointer, "detectors": ["iban", "phone"], "strategy": "redact"} if {
	_is_crm
	some pointer in {"/input/request/body", "/call/request_body", "/call/response_body"}
}
