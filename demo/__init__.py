"""Demo seeding and the sandbox ERP/WMS/TMS for `make run` and the tests: not part of the product.

Installed only by the local and test settings; it imports the apps, and no app imports it."""
