"""``sockdoc tune``: the settings a diagnosis calls for, written and applied safely.

:mod:`~sockdoc.tune.proposals` turns the findings into settings to change (pure),
:mod:`~sockdoc.tune.safety` refuses values that would hurt the host (pure),
:mod:`~sockdoc.tune.files` renders the files that hold them (pure),
:mod:`~sockdoc.tune.show` prints the plan as a diff or JSON (pure), and
:mod:`~sockdoc.tune.apply` is the only module that reads or changes the system: it writes the
files for review, applies them atomically with a backup, and reverts an apply byte for byte.
"""
