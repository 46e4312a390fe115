"""Search command protocol v2 for the app's commands, a chunk worked as columns.

:mod:`.framing` reads and writes chunks; :mod:`.columns` parses an execute body into
columns; :mod:`.output` writes new cells (or whole records) back as CSV bytes;
:mod:`.command` is the protocol loop and the command base classes; :mod:`.options` parses
command arguments; :mod:`.values` converts values between Splunk's text and numpy.
"""
