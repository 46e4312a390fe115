"""The command side of search command protocol v2: base classes and job inspector messages.

Protocol behaviour follows splunklib 2.1.1's ``SearchCommand`` (``_process_protocol_v2``):
the getinfo reply carries the command's configuration; a bad option yields the reply
with ``inspector.messages`` ``[["ERROR", text]]`` and exit status 1; an error while
executing yields a reply with the messages and ``"finished": true`` and exit status 1;
each execute chunk gets exactly one reply, whose ``finished`` echoes splunkd's.
"""
import sys
import traceback

from c2hunt.scp.columns import Chunk
from c2hunt.scp.framing import (ProtocolError, keep_freed_memory, read_chunk, widen_pipes,
                                write_chunk)
from c2hunt.scp.options import OptionError


class CommandFailure(Exception):
    """A deliberate stop (e.g. a memory limit): its text alone goes to the job inspector."""


class Messages(object):
    """Job inspector messages, reported the first time a problem is seen, totalled at the end.

    A problem found in every chunk of a long search would otherwise repeat thousands of
    times: each kind is reported once with its first count, and when splunkd says the
    search is finished the total is reported if it grew since.
    """

    def __init__(self):
        self.pending = []
        self._totals = {}
        self._reported = {}

    def add(self, level, text):
        """Report ``text`` with the next reply."""
        self.pending.append([level, text])

    def count(self, level, key, n, template, *args):
        """Count ``n`` occurrences of a problem; ``template % ((count,) + args)`` is the message.

        Field names go in ``args``, never into ``template`` itself: a name such as
        ``%_Processor_Time`` would otherwise be read as a format directive.
        """
        if n <= 0:
            return
        total = self._totals.get(key, (level, template, args, 0))[3] + n
        self._totals[key] = (level, template, args, total)
        if key not in self._reported:
            self._reported[key] = total
            self.pending.append([level, _formatted(template, total, args)])

    def finish(self):
        for key, (level, template, args, total) in self._totals.items():
            if total != self._reported.get(key):
                self._reported[key] = total
                self.pending.append([level, _formatted(template, total, args)
                                     + " (total for this search)"])

    def take(self):
        pending, self.pending = self.pending, []
        return pending


def _formatted(template, total, args):
    try:
        return template % ((total,) + tuple(args))
    except (TypeError, ValueError):  # a caller's template that is not a format: say it as is
        return "%s (%d)" % (template, total)


class SearchCommand(object):
    """Base of the app's commands. Subclasses set ``name`` and ``command_type`` and define
    ``configure(args)``, ``execute(chunk, finished)`` returning the reply body bytes.

    ``messages`` (a :class:`Messages`) collects job inspector messages; ``required_fields``,
    when not None, is announced in the getinfo reply so splunkd sends only those fields.
    """

    name = "command"
    command_type = "streaming"

    def __init__(self):
        self.messages = Messages()
        self.required_fields = None

    def configure(self, args):  # pragma: no cover - overridden
        raise NotImplementedError

    def execute(self, chunk, finished):  # pragma: no cover - overridden
        raise NotImplementedError

    def configuration(self):
        """getinfo reply items, in the order splunklib writes them."""
        items = []
        if self.required_fields is not None:
            items.append(("required_fields", list(self.required_fields)))
        items.append(("type", self.command_type))
        return items

    @classmethod
    def main(cls, stdin=None, stdout=None):
        """Serve one search on stdin/stdout; exits with status 1 after reporting an error."""
        stdin = stdin or sys.stdin.buffer
        stdout = stdout or sys.stdout.buffer
        keep_freed_memory()
        widen_pipes(stdin, stdout)
        status = cls().serve(stdin, stdout)
        if status:
            sys.exit(status)

    def serve(self, stdin, stdout):
        """Run the protocol; returns the exit status (0 or 1)."""
        try:
            first = read_chunk(stdin)
            if first is None:
                return 0
            metadata, body = first
            if metadata.get("action") != "getinfo":
                raise ProtocolError("protocol error: expected the getinfo action first, not %r"
                                    % (metadata.get("action"),))
            if body:
                raise ProtocolError("protocol error: the getinfo chunk carries a body")
            info = metadata.get("searchinfo") or {}
            if not isinstance(info, dict) or not isinstance(info.get("args") or [], list):
                raise ProtocolError("protocol error: getinfo searchinfo is not an object with"
                                    " an args list")
        except ProtocolError as error:
            self.messages.add("ERROR", "%s: %s" % (self.name, error))
            write_chunk(stdout, self._reply_metadata(finished=True))
            return 1
        except Exception:
            self._report_error()
            write_chunk(stdout, self._reply_metadata(finished=True))
            return 1
        try:
            self.configure([str(arg) for arg in info.get("args") or []])
        except OptionError as error:
            self.messages.add("ERROR", str(error))
            write_chunk(stdout, self._reply_metadata(self.configuration()))
            return 1
        except Exception:
            self._report_error()
            write_chunk(stdout, self._reply_metadata(self.configuration()))
            return 1
        write_chunk(stdout, self._reply_metadata(self.configuration()))
        while True:
            try:
                chunk = read_chunk(stdin)
                if chunk is None:
                    return 0
                metadata, body = chunk
                if metadata.get("action") != "execute":
                    raise ProtocolError("protocol error: expected the execute action, not %r"
                                        % (metadata.get("action"),))
                finished = bool(metadata.get("finished", False))
                out = self.execute(Chunk(body), finished)
                if finished:
                    self.messages.finish()
            except ProtocolError as error:
                self.messages.add("ERROR", "%s: %s" % (self.name, error))
                write_chunk(stdout, self._reply_metadata(finished=True))
                return 1
            except CommandFailure as failure:
                self.messages.add("ERROR", str(failure))
                write_chunk(stdout, self._reply_metadata(finished=True))
                return 1
            except Exception:
                self._report_error()
                write_chunk(stdout, self._reply_metadata(finished=True))
                return 1
            write_chunk(stdout, self._reply_metadata(finished=finished), out)

    def _reply_metadata(self, items=(), finished=None):
        metadata = dict(items)
        messages = self.messages.take()
        if messages:
            metadata["inspector"] = {"messages": messages}
        if finished is not None:
            metadata["finished"] = finished
        return metadata

    def _report_error(self):
        """The SDK's message for an unexpected error, with the traceback on stderr (search.log)."""
        error_type, error, tb = sys.exc_info()
        origin = tb
        while origin.tb_next is not None:
            origin = origin.tb_next
        message = '%s at "%s", line %d : %s' % (error_type.__name__,
                                               origin.tb_frame.f_code.co_filename,
                                               origin.tb_lineno, error)
        sys.stderr.write(message + "\nTraceback:\n" + "".join(traceback.format_tb(tb)))
        self.messages.add("ERROR", message)


class StreamingCommand(SearchCommand):
    """A command that adds fields to every record: subclasses define ``input_fields`` and
    ``compute(source, n_rows) -> list of (name, values)``, reading columns from ``source``
    (a :class:`ColumnSource`)."""

    command_type = "streaming"
    input_fields = ()

    def execute(self, chunk, finished):
        if chunk.n_rows == 0:
            return b""
        return chunk.with_fields(self.compute(chunk, chunk.n_rows))

    def compute(self, source, n_rows):  # pragma: no cover - overridden
        raise NotImplementedError
