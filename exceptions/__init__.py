"""Hold rules, thresholds, the Hold state machine and the role work queues."""
