"""Students rate activities by tapping a card (S1 satisfaction).

``rules`` holds the pure decisions (window, weekly limit, who may rate, flagging), ``cards`` the
card texts, ``service`` the writes (requests with their outbox rows, a tap stored once),
``jobs`` the scheduler's entry points ``(database, now)`` and ``export`` the office's audit file.
"""
