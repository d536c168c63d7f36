"""The annual assessment cycle: opening, scoring workbooks, progress, publication (公示),
objections and corrections, closing and exports. Handlers and pages call these services;
the rules themselves live in ``scoring/``."""
