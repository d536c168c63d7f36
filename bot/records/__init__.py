"""A mentor's daily record (台账): the pure rules (quick text, dates, names, kinds) and the
services that write records, participants, evidence and the audit trail."""
