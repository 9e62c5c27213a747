"""Events billing sends inside the transaction that makes them, so a receiver's writes (an outbox
row for the ERP) commit or roll back with the invoice itself."""

from django.dispatch import Signal

#: A WMS ship confirmation was recorded. kwargs: shipment.
shipment_recorded = Signal()
#: An invoice was released to the customer. kwargs: invoice.
invoice_released = Signal()
#: A credit memo was issued against a released invoice. kwargs: credit_memo.
credit_memo_issued = Signal()
