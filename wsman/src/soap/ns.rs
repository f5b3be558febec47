//! Namespace, action, resource and state URIs of WS-Management and WinRS.
//!
//! Parsers match on these URIs, never on prefixes: Windows writes `s:`/`a:`/`w:`,
//! pywinrm and Go write `env:`, and any prefix (or a default namespace) is legal.

/// SOAP 1.2 envelope namespace.
pub const SOAP: &str = "http://www.w3.org/2003/05/soap-envelope";
/// WS-Addressing (2004/08), used for To, Action, MessageID, RelatesTo.
pub const ADDRESSING: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
/// DMTF WS-Management namespace (ResourceURI, SelectorSet, OptionSet, ...).
pub const WSMAN: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd";
/// Microsoft's WS-Management extensions (DataLocale, SessionId).
pub const WSMV: &str = "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd";
/// The WinRS shell namespace (Shell, CommandLine, Stream, ...).
pub const SHELL: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell";
/// WS-Transfer, for ResourceCreated in the Create response.
pub const TRANSFER: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer";
/// The WSManFault detail namespace.
pub const WSMANFAULT: &str = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault";
/// The `xml:` namespace (for `xml:lang`), bound implicitly in every document.
pub const XML: &str = "http://www.w3.org/XML/1998/namespace";

/// ResourceURI of the WinRS cmd shell.
pub const RESOURCE_URI_CMD: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd";
/// The anonymous WS-Addressing endpoint used in ReplyTo and response To.
pub const ANONYMOUS: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous";

/// Action URIs for each operation and its response.
pub mod action {
    /// Create a shell (WS-Transfer Create).
    pub const CREATE: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create";
    /// Response to Create.
    pub const CREATE_RESPONSE: &str =
        "http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse";
    /// Delete a shell (WS-Transfer Delete).
    pub const DELETE: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete";
    /// Response to Delete.
    pub const DELETE_RESPONSE: &str =
        "http://schemas.xmlsoap.org/ws/2004/09/transfer/DeleteResponse";
    /// Start a command in a shell.
    pub const COMMAND: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command";
    /// Response to Command.
    pub const COMMAND_RESPONSE: &str =
        "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandResponse";
    /// Poll for command output.
    pub const RECEIVE: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Receive";
    /// Response to Receive.
    pub const RECEIVE_RESPONSE: &str =
        "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/ReceiveResponse";
    /// Write to a command's stdin.
    pub const SEND: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Send";
    /// Response to Send.
    pub const SEND_RESPONSE: &str =
        "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/SendResponse";
    /// Signal a command (terminate, ctrl_c).
    pub const SIGNAL: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Signal";
    /// Response to Signal.
    pub const SIGNAL_RESPONSE: &str =
        "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/SignalResponse";
    /// Action of a WS-Management fault.
    pub const FAULT: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault";
    /// Action of a WS-Addressing fault (used for MustUnderstand).
    pub const ADDRESSING_FAULT: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing/fault";
}

/// Signal codes.
pub mod signal {
    /// Terminate the command; also the final Signal after all output was read.
    pub const TERMINATE: &str =
        "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/terminate";
    /// Ctrl+C.
    pub const CTRL_C: &str =
        "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/ctrl_c";
    /// Ctrl+Break.
    pub const CTRL_BREAK: &str =
        "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/ctrl_break";
    /// The PSRP ctrl+c code, misspelled `crtl_c` exactly as the specification has it.
    pub const PS_CTRL_C: &str = "http://schemas.microsoft.com/powershell/signal/crtl_c";
}

/// CommandState URIs.
pub mod command_state {
    /// The command is still running.
    pub const RUNNING: &str =
        "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Running";
    /// The command has finished; ExitCode accompanies it.
    pub const DONE: &str =
        "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done";
    /// The command has not started yet.
    pub const PENDING: &str =
        "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Pending";
}

/// WinRS option names carried in OptionSet.
pub mod option {
    /// Whether to skip loading the user profile (`TRUE`/`FALSE`).
    pub const NOPROFILE: &str = "WINRS_NOPROFILE";
    /// Console code page of the shell (65001 for UTF-8).
    pub const CODEPAGE: &str = "WINRS_CODEPAGE";
    /// Whether stdin is a console (`TRUE`/`FALSE`).
    pub const CONSOLEMODE_STDIN: &str = "WINRS_CONSOLEMODE_STDIN";
    /// Whether to run the command without `cmd.exe` (`TRUE`/`FALSE`).
    pub const SKIP_CMD_SHELL: &str = "WINRS_SKIP_CMD_SHELL";
}

/// `w:FaultDetail` URIs used in faults.
pub mod fault_detail {
    /// A selector (ShellId or CommandId) named nothing that exists.
    pub const UNEXPECTED_SELECTORS: &str =
        "http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/UnexpectedSelectors";
    /// The response would exceed the client's MaxEnvelopeSize.
    pub const MAX_ENVELOPE_SIZE: &str =
        "http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/MaxEnvelopeSize";
}
