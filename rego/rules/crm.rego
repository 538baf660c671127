# METADATA
# title: Example rules for the dev stack's `crm` connection
# description: |
#   The sample customers API: GET /customers, GET /customers/{id}, DELETE /customers/{id}, /echo.
#   Holders of role crm-reader (or crm-admin) may read; only crm-admin may delete. Anything else
#   falls through to the entrypoint's default deny. Only requests on connection `crm` are judged.
# scope: package
package portcullis.rules.crm

import data.portcullis.lib

_readers := {"crm-reader", "crm-admin"}

_is_crm if lib.connection_is("crm")

# One customer: exactly one non-empty segment after /customers/ ("/customers/" is not one).
_customer_path if regex.match(`^/customers/[^/]+$`, input.request.path)

# METADATA
# description: Why this package allows the request (read by the entrypoint).
allow contains "reading customers is allowed for crm-reader" if {
	_is_crm
	lib.method_in({"GET", "HEAD"})
	_is_customers_read
	lib.has_any_role(_readers)
}

allow contains "deleting a customer is allowed for crm-admin" if {
	_is_crm
	input.request.method == "DELETE"
	_customer_path
	lib.has_role("crm-admin")
}

allow contains "/echo is open to crm roles" if {
	_is_crm
	lib.path_has_prefix("/echo")
	lib.has_any_role(_readers)
}

_is_customers_read if input.request.path == "/customers"

_is_customers_read if _customer_path

# METADATA
# description: Why this package denies the request; any deny overrides every allow.
deny contains "deleting a customer requires role crm-admin" if {
	_is_crm
	input.request.method == "DELETE"
	_customer_path
	not lib.has_role("crm-admin")
}

deny contains "the caller holds no crm role" if {
	_is_crm
	not lib.has_any_role(_readers)
}
