"""Connectors to ERP/WMS/TMS, the inbox and outbox, dead letters and worker health."""
