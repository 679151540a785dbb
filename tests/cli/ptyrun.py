#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""ptyrun.py ANSWER-FILE CMD...: run CMD on a pseudo-terminal (so hsmkey
asks for secrets without echo) and type the lines of ANSWER-FILE, one per
prompt ("PIN for token '...': " or "Passphrase for ...: " of hsmkey, "Enter
pass phrase for ...:" of the openssl CLI, or a "[y/N] " question).  The secrets
come from a file so they are never on a command line.  Everything CMD
wrote to the terminal goes to stdout; the exit status is CMD's."""
import os
import pty
import re
import signal
import sys
import termios
import time

PROMPT = re.compile(rb"((PIN for token '[^']*'|Passphrase for [^\n]*): "
                    rb"|Enter pass phrase for [^\n]*:|\[y/N\] )$")


def wait_for_no_echo(fd, seconds=10.0):
    """The openssl CLI prints its prompt before it turns echo off: an
    answer typed in between would be echoed.  The master side of a pty
    reads the terminal's settings; wait until ECHO is off (or give up and
    type anyway, so a prompt that echoes shows in the output)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            if not termios.tcgetattr(fd)[3] & termios.ECHO:
                return
        except termios.error:
            return
        time.sleep(0.005)


answers = open(sys.argv[1], "rb").read().splitlines()
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
# A child that waits for input nobody sends must not hang the test.
signal.signal(signal.SIGALRM, lambda *_: os.kill(pid, signal.SIGKILL))
signal.alarm(60)
out = b""
pending = b""
while True:
    try:
        data = os.read(fd, 4096)
    except OSError:
        break
    if not data:
        break
    out += data
    pending += data
    if PROMPT.search(pending):
        pending = b""
        wait_for_no_echo(fd)
        os.write(fd, (answers.pop(0) if answers else b"") + b"\n")
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.exit(os.waitstatus_to_exitcode(status))
