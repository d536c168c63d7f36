"""Personal data: retention after the cycle closes, pruning of sent messages and processed
callbacks, and one person's data export.

- :mod:`bot.retention.purge`: years past retention (with :mod:`bot.retention.pictures`);
- :mod:`bot.retention.prune`: finished messages and processed callbacks;
- :mod:`bot.retention.export`: one person's data.
"""
