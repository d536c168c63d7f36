"""Personal data: retention after the cycle closes, pruning of sent messages and processed
callbacks, and one person's data export.

- :mod:`bot.ops.retention.purge`: years past retention (with :mod:`bot.ops.retention.pictures`);
- :mod:`bot.ops.retention.prune`: finished messages and processed callbacks;
- :mod:`bot.ops.retention.export`: one person's data.
"""
