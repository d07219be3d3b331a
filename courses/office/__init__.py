"""The VHS office: instructor fees and fee statements, and the staff reports per term."""
