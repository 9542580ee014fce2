package ipfix

import "syscall"

// syscallReset: a peer closing with unread data makes Linux send RST.
var syscallReset = syscall.ECONNRESET
