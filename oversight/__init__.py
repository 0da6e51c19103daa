"""Oversight (the Ombudsman agreement): evaluation figures over the decision log, their public
summary with small cells masked, and the report documents built from them."""
