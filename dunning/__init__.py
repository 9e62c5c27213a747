"""Collections: the worklist of customers with past-due money, dunning steps, promises to pay, the
contact log, and each customer's standing (credit watch or block) from how late they pay."""
