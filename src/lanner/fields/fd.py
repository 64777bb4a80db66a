"""``fd.*``, ``fdlist.*`` and ``fs.path.*``: the descriptor, descriptor lists and paths an event
touches."""

from __future__ import annotations

from lanner.fields._spec import IP, NET, B, I, S, spec
from lanner.fields.registry import ArgKind, ArgMode, FieldInfo


def fields() -> list[FieldInfo]:
    """The catalog of the ``fd``, ``fdlist`` and ``fs.path`` classes."""
    return [
        spec("fd.num", I, "Descriptor number the event refers to."),
        spec("fd.type", S, "Descriptor kind: file, directory, ipv4, ipv6, unix, pipe, event..."),
        spec("fd.typechar", S, "Descriptor kind as one character: f, d, 4, 6, u, p, e, s, l, i..."),
        spec("fd.name", S, "Full path of a file, or the connection tuple of a socket."),
        spec("fd.nameraw", S, "Path as the process gave it, before resolution."),
        spec("fd.directory", S, "Directory holding the file."),
        spec("fd.filename", S, "Last component of the file's path."),
        spec("fd.ino", I, "Inode number of the file."),
        spec("fd.dev", I, "Device number (major and minor) holding the file."),
        spec("fd.dev.major", I, "Major number of the device holding the file."),
        spec("fd.dev.minor", I, "Minor number of the device holding the file."),
        spec("fd.uid", S, "Identifier of the descriptor unique per thread: tid and fd number."),
        spec("fd.containername", S, "Container id followed by the descriptor name."),
        spec("fd.containerdirectory", S, "Container id followed by the directory name."),
        spec("fd.is_upper_layer", B, "True when the file lives in an overlay upper layer."),
        spec("fd.is_lower_layer", B, "True when the file lives in an overlay lower layer."),
        spec(
            "fd.types",
            S,
            "Kinds of every descriptor the event names (fd.types[N]: the Nth only).",
            arg=ArgMode.OPTIONAL,
            kind=ArgKind.INDEX,
            is_list=True,
        ),
        # network endpoints
        spec("fd.ip", IP, "Filter only: client or server IP address matches.", filter_only=True),
        spec("fd.cip", IP, "IP address of the client end of a connection."),
        spec("fd.sip", IP, "IP address of the server end of a connection."),
        spec("fd.lip", IP, "IP address of the local end of a connection."),
        spec("fd.rip", IP, "IP address of the remote end of a connection."),
        spec(
            "fd.port",
            I,
            "Filter only: client or server port matches (!=: neither does).",
            filter_only=True,
            either_port=True,
        ),
        spec("fd.cport", I, "Port of the client end of a TCP/UDP connection."),
        spec("fd.sport", I, "Port of the server end of a TCP/UDP connection."),
        spec("fd.lport", I, "Port of the local end of a TCP/UDP connection."),
        spec("fd.rport", I, "Port of the remote end of a TCP/UDP connection."),
        spec(
            "fd.proto",
            S,
            "Filter only: client or server port is the named service's (fd.proto=http: port 80).",
            filter_only=True,
            either_port=True,
        ),
        spec(
            "fd.cproto",
            S,
            "The client port as text (no service name: Falco resolves none).",
        ),
        spec(
            "fd.sproto",
            S,
            "The server port as text (no service name: Falco resolves none).",
        ),
        spec(
            "fd.lproto",
            S,
            "The local port as text (no service name: Falco resolves none).",
        ),
        spec(
            "fd.rproto",
            S,
            "The remote port as text (no service name: Falco resolves none).",
        ),
        spec(
            "fd.net",
            NET,
            "Filter only: client or server address is in a CIDR network.",
            filter_only=True,
        ),
        spec("fd.cnet", NET, "Filter only: client address is in a CIDR network.", filter_only=True),
        spec("fd.snet", NET, "Filter only: server address is in a CIDR network.", filter_only=True),
        spec("fd.lnet", NET, "Filter only: local address is in a CIDR network.", filter_only=True),
        spec("fd.rnet", NET, "Filter only: remote address is in a CIDR network.", filter_only=True),
        spec("fd.l4proto", S, "Transport of a socket: tcp, udp, icmp or raw."),
        spec("fd.sockfamily", S, "Family of a socket: ip or unix."),
        spec("fd.is_server", B, "True when this process is the server end of the connection."),
        spec("fd.connected", B, "True when the TCP/UDP socket is connected."),
        spec(
            "fd.name_changed", B, "True when the event changed the descriptor's name (UDP peers)."
        ),
        spec("fd.cip.name", S, "DNS name known for the client IP address."),
        spec("fd.sip.name", S, "DNS name known for the server IP address."),
        spec("fd.lip.name", S, "DNS name known for the local IP address."),
        spec("fd.rip.name", S, "DNS name known for the remote IP address."),
        # descriptor lists of poll-like events
        spec("fdlist.nums", S, "Comma-separated numbers of the descriptors a poll names."),
        spec("fdlist.names", S, "Comma-separated names of the descriptors a poll names."),
        spec("fdlist.cips", S, "Comma-separated client IPs of the descriptors a poll names."),
        spec("fdlist.sips", S, "Comma-separated server IPs of the descriptors a poll names."),
        spec("fdlist.cports", S, "Comma-separated client ports of the descriptors a poll names."),
        spec("fdlist.sports", S, "Comma-separated server ports of the descriptors a poll names."),
        # paths of path-taking syscalls
        spec("fs.path.name", S, "Absolute path a path-taking syscall (mkdir, unlink...) acts on."),
        spec("fs.path.nameraw", S, "That path as given, before resolution."),
        spec("fs.path.source", S, "Absolute source path of two-path syscalls (rename, link...)."),
        spec("fs.path.sourceraw", S, "Source path as given, before resolution."),
        spec("fs.path.target", S, "Absolute target path of two-path syscalls (rename, link...)."),
        spec("fs.path.targetraw", S, "Target path as given, before resolution."),
    ]
