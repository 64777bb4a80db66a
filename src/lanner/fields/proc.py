"""``proc.*`` and ``thread.*``: the process and thread behind the event, and its lineage."""

from __future__ import annotations

from lanner.fields._spec import ABS, REL, B, D, I, S, spec
from lanner.fields.registry import ArgKind, ArgMode, FieldInfo, FieldType

OPT = ArgMode.OPTIONAL
REQ = ArgMode.REQUIRED
IDX = ArgKind.INDEX


def _ancestor(name: str, type_: FieldType, what: str) -> FieldInfo:
    return spec(
        name,
        type_,
        f"{what} of an ancestor: [0] the process, [1] its parent...; without index, any ancestor.",
        arg=OPT,
        kind=IDX,
        any_without_arg=True,
    )


def fields() -> list[FieldInfo]:
    """The catalog of the ``proc`` and ``thread`` classes."""
    return [
        # identity
        spec("proc.pid", I, "Process id (thread-group id) of the event's thread."),
        spec("proc.vpid", I, "Process id as seen inside the process's own pid namespace."),
        spec("proc.ppid", I, "Process id of the parent."),
        spec("proc.pvpid", I, "Parent's process id inside its pid namespace."),
        spec("proc.sid", I, "Session id of the process."),
        spec("proc.sname", S, "Name of the process's session leader."),
        spec("proc.sid.exe", S, "argv[0] of the session leader."),
        spec("proc.sid.exepath", S, "Executable path of the session leader."),
        spec("proc.vpgid", I, "Process group id inside the pid namespace."),
        spec("proc.vpgid.name", S, "Name of the process group leader."),
        spec("proc.vpgid.exe", S, "argv[0] of the process group leader."),
        spec("proc.vpgid.exepath", S, "Executable path of the process group leader."),
        spec("proc.pgid", I, "Process group id as seen from the host."),
        spec("proc.is_sid_leader", B, "True when the process leads its session."),
        spec("proc.is_vpgid_leader", B, "True when the process leads its process group."),
        spec("proc.pid.ts", ABS, "Start time of the process, ns since the epoch."),
        spec("proc.ppid.ts", ABS, "Start time of the parent process, ns since the epoch."),
        spec("proc.ppid.duration", REL, "Nanoseconds since the parent process started."),
        spec("proc.duration", REL, "Nanoseconds since the process started."),
        spec("proc.pidns_init_start_ts", ABS, "Start time of the init of its pid namespace."),
        # what runs
        spec("proc.name", S, "Command name of the process (the kernel's comm, up to 16 chars)."),
        spec("proc.exe", S, "First command-line word (argv[0]) of the process."),
        spec("proc.exepath", S, "Full path of the executable file the process runs."),
        spec("proc.args", S, "Command-line arguments after argv[0], joined by spaces."),
        spec("proc.cmdline", S, "Command name followed by the arguments."),
        spec("proc.exeline", S, "argv[0] followed by the arguments."),
        spec("proc.cmdnargs", I, "Number of command-line arguments after argv[0]."),
        spec("proc.cmdlenargs", I, "Total length of the arguments after argv[0]."),
        spec(
            "proc.env",
            S,
            "Environment of the process, or the value of one variable (proc.env[HOME]).",
            arg=OPT,
        ),
        spec(
            "proc.aenv",
            S,
            "Value of an environment variable in the process or its nearest ancestor having it.",
            arg=OPT,
            any_without_arg=True,
        ),
        spec("proc.cwd", S, "Current working directory of the process."),
        spec("proc.tty", I, "Controlling terminal device number; 0 without a terminal."),
        spec("proc.loginshellid", I, "Pid of the eldest shell among the ancestors, if any."),
        # the parent and other ancestors
        spec("proc.pname", S, "Command name of the parent process."),
        spec("proc.pexe", S, "argv[0] of the parent process."),
        spec("proc.pexepath", S, "Executable path of the parent process."),
        spec("proc.pcmdline", S, "Command line (name and arguments) of the parent process."),
        _ancestor("proc.apid", I, "Pid"),
        _ancestor("proc.aname", S, "Command name"),
        _ancestor("proc.aexe", S, "argv[0]"),
        _ancestor("proc.aexepath", S, "Executable path"),
        _ancestor("proc.acmdline", S, "Command line"),
        # executable file
        spec("proc.is_exe_writable", B, "True when the executable is writable by its runner."),
        spec(
            "proc.is_exe_upper_layer", B, "True when the executable is in an overlay upper layer."
        ),
        spec(
            "proc.is_exe_lower_layer", B, "True when the executable is in an overlay lower layer."
        ),
        spec("proc.is_exe_from_memfd", B, "True when the executable is a memfd (fileless)."),
        spec("proc.exe_ino", I, "Inode number of the executable file."),
        spec("proc.exe_ino.ctime", ABS, "Status-change time of the executable's inode."),
        spec("proc.exe_ino.mtime", ABS, "Modification time of the executable's inode."),
        spec(
            "proc.exe_ino.ctime_duration_proc_start",
            REL,
            "Nanoseconds between the executable's ctime and the process start.",
        ),
        spec(
            "proc.exe_ino.ctime_duration_pidns_start",
            REL,
            "Nanoseconds between the pid namespace start and the executable's ctime.",
        ),
        # resources
        spec("proc.nthreads", I, "Number of threads of the process, main thread included."),
        spec("proc.nchilds", I, "Number of threads of the process besides the main one."),
        spec("proc.fdopencount", I, "Number of descriptors the process holds open."),
        spec("proc.fdlimit", I, "Most descriptors the process may open."),
        spec("proc.fdusage", D, "Open descriptors as a share of the limit."),
        spec("proc.vmsize", I, "Virtual memory of the process, in KiB."),
        spec("proc.vmrss", I, "Resident memory of the process, in KiB."),
        spec("proc.vmswap", I, "Swapped-out memory of the process, in KiB."),
        spec("proc.stdin.type", S, "Descriptor type of the process's standard input."),
        spec("proc.stdin.name", S, "Name of the process's standard input."),
        spec("proc.stdout.type", S, "Descriptor type of the process's standard output."),
        spec("proc.stdout.name", S, "Name of the process's standard output."),
        spec("proc.stderr.type", S, "Descriptor type of the process's standard error."),
        spec("proc.stderr.name", S, "Name of the process's standard error."),
        # container probes
        spec(
            "proc.is_container_healthcheck",
            B,
            "True for a process run as a container health check.",
        ),
        spec("proc.is_container_liveness_probe", B, "True for a process run as a liveness probe."),
        spec(
            "proc.is_container_readiness_probe", B, "True for a process run as a readiness probe."
        ),
        # thread
        spec("thread.tid", I, "Thread id of the event's thread."),
        spec("thread.vtid", I, "Thread id inside the thread's pid namespace."),
        spec("thread.ismain", B, "True when the thread is its process's main thread."),
        spec("thread.nametid", S, "Command name immediately followed by the thread id."),
        spec("thread.pfmajor", I, "Major page faults of the thread since it started."),
        spec("thread.pfminor", I, "Minor page faults of the thread since it started."),
        spec("thread.exectime", REL, "CPU time of the last scheduled thread (switch events)."),
        spec("thread.totexectime", REL, "CPU time of the thread since the stream began."),
        spec("thread.cgroups", S, "Every cgroup of the thread, as subsystem=path text."),
        spec(
            "thread.cgroup",
            S,
            "cgroup path of the thread for one subsystem (thread.cgroup.cpuacct).",
            arg=REQ,
            dotted=True,
        ),
        spec("thread.cpu", D, "CPU share the thread used over the last second."),
        spec("thread.cpu.user", D, "User-mode CPU share over the last second."),
        spec("thread.cpu.system", D, "Kernel-mode CPU share over the last second."),
        spec("thread.vmsize", I, "Virtual memory in KiB for a main thread, 0 for others."),
        spec("thread.vmrss", I, "Resident memory in KiB for a main thread, 0 for others."),
        spec("thread.cap_permitted", S, "Permitted capabilities of the thread (CAP_X names)."),
        spec("thread.cap_effective", S, "Effective capabilities of the thread (CAP_X names)."),
        spec("thread.cap_inheritable", S, "Inheritable capabilities of the thread (CAP_X names)."),
    ]
