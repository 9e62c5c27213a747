"""Events of cases and returns, sent inside the transaction that makes them, so a receiver's
writes (the WMS's outbox row, the customer's notice) commit or roll back with them."""

from django.dispatch import Signal

#: Customer service authorised a return: the warehouse is to expect it. kwargs: rma.
return_authorised = Signal()
#: The customer is to be told of a decision on their money (a deduction found invalid, a
#: return refused): why, and what they still owe. kwargs: customer_id, subject, text.
customer_to_be_told = Signal()
