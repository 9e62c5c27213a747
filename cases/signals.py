"""Events of cases and returns, sent inside the transaction that makes them, so a receiver's
writes (the WMS's outbox row) commit or roll back with them."""

from django.dispatch import Signal

#: Customer service authorised a return: the warehouse is to expect it. kwargs: rma.
return_authorised = Signal()
