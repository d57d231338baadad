"""Runs a command (kubectl exec -it, kubectl run -it ...) on a terminal of its own, sized
37 rows by 91 columns, types `input` into it and prints everything the
terminal showed; exits with the command's exit code.

usage: tty_exec.py INPUT -- COMMAND...
"""
import fcntl
import os
import pty
import select
import struct
import sys
import termios
import time

split = sys.argv.index("--")
typed = sys.argv[1].encode().decode("unicode_escape").encode()
command = sys.argv[split + 1:]

pid, fd = pty.fork()
if pid == 0:
    os.execvp(command[0], command)

fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 37, 91, 0, 0))
output = b""
sent = False
started = time.time()
deadline = time.time() + 60
while time.time() < deadline:
    ready, _, _ = select.select([fd], [], [], 0.5)
    if ready:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    # The remote shell's prompt says it is ready for input; an attached
    # session may have missed it (it came before the attach), so after a
    # few quiet seconds the input goes anyway.
    if not sent and (b"#" in output or time.time() > started + 5):
        os.write(fd, typed)
        sent = True
_, status = os.waitpid(pid, 0)
sys.stdout.write(output.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status))
