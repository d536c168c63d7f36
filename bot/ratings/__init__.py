"""Students rate activities by tapping a card (S1 satisfaction).

``rules`` holds the pure decisions (window, weekly limit, who may rate, flagging) and the
policy the settings give, ``cards`` the card texts; the writes, each in the caller's
transaction: ``asking`` (requests with their outbox rows, reminders, lapsing), ``guidance``
(the month's individual guidance as a rated record), ``taps`` (a tap stored once) and
``flags`` (did-not-attend flags for the college); ``jobs`` the scheduler's entry points
``(database, now)`` and ``export`` the office's audit file.
"""
