#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# A polkit authentication agent for tests/test-polkit.sh: registered (as root) for one process, it
# answers every challenge polkitd sends it by vouching for the first identity offered, as
# polkit-agent-helper-1 does once PAM has accepted a password. It prints one line per challenge
# ("challenge ACTION IDENTITY") and writes READY-FILE once registered; it exits after ANSWERS
# challenges or TIMEOUT seconds.
#
#   polkit-agent.py PID READY-FILE [ANSWERS] [TIMEOUT]
import sys

import dbus
import dbus.mainloop.glib
import dbus.service
from gi.repository import GLib

pid, ready = int(sys.argv[1]), sys.argv[2]
answers = int(sys.argv[3]) if len(sys.argv) > 3 else 1
timeout = int(sys.argv[4]) if len(sys.argv) > 4 else 60
PATH = "/org/isod1/TestAgent"

dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
bus = dbus.SystemBus()
authority = dbus.Interface(bus.get_object("org.freedesktop.PolicyKit1", "/org/freedesktop/PolicyKit1/Authority"),
                           "org.freedesktop.PolicyKit1.Authority")
loop = GLib.MainLoop()


class Agent(dbus.service.Object):
    @dbus.service.method("org.freedesktop.PolicyKit1.AuthenticationAgent", in_signature="sssa{ss}saa{sa{sv}}",
                         out_signature="")
    def BeginAuthentication(self, action_id, message, icon_name, details, cookie, identities):
        global answers
        ident = identities[0]
        who = "%s:%s" % (ident[0], ",".join("%s=%s" % (k, v) for k, v in ident[1].items()))
        print("challenge", action_id, who, flush=True)
        authority.AuthenticationAgentResponse2(dbus.UInt32(0), cookie, ident)
        answers -= 1
        if answers <= 0:
            GLib.idle_add(loop.quit)

    @dbus.service.method("org.freedesktop.PolicyKit1.AuthenticationAgent", in_signature="s", out_signature="")
    def CancelAuthentication(self, cookie):
        print("cancelled", flush=True)


agent = Agent(bus, PATH)
start = int(open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()[19])
subject = ("unix-process", {"pid": dbus.UInt32(pid), "start-time": dbus.UInt64(start)})
authority.RegisterAuthenticationAgent(subject, "C", PATH)
open(ready, "w").close()
GLib.timeout_add_seconds(timeout, loop.quit)
loop.run()
