//! PowerShell errors as the evaluator carries them: one structured type,
//! [`PsError`], shaped like an `ErrorRecord` (message, category,
//! `FullyQualifiedErrorId`, target, invocation position, and the VMM error id
//! when a VMM cmdlet raised it), plus the control-flow signal the evaluator
//! unwinds with.
//!
//! Rendering lives in [`super::render`]: both the plain text PowerShell 5.1
//! writes to stderr in `-Command -` sessions and the CLIXML it writes for
//! `-EncodedCommand` invocations are produced from the same record, so the
//! two never drift apart.

use std::fmt;

/// PowerShell's `System.Management.Automation.ErrorCategory`, with its
/// numeric values (they show up when an error record is serialised).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // the variant names are PowerShell's own
pub enum ErrorCategory {
    NotSpecified = 0,
    OpenError = 1,
    CloseError = 2,
    DeviceError = 3,
    DeadlockDetected = 4,
    InvalidArgument = 5,
    InvalidData = 6,
    InvalidOperation = 7,
    InvalidResult = 8,
    InvalidType = 9,
    MetadataError = 10,
    NotImplemented = 11,
    NotInstalled = 12,
    ObjectNotFound = 13,
    OperationStopped = 14,
    OperationTimeout = 15,
    SyntaxError = 16,
    ParserError = 17,
    PermissionDenied = 18,
    ResourceBusy = 19,
    ResourceExists = 20,
    ResourceUnavailable = 21,
    ReadError = 22,
    WriteError = 23,
    FromStdErr = 24,
    SecurityError = 25,
    ProtocolError = 26,
    ConnectionError = 27,
    AuthenticationError = 28,
    LimitsExceeded = 29,
    QuotaExceeded = 30,
    NotEnabled = 31,
}

impl ErrorCategory {
    /// Every category, in numeric order (for name lookups).
    pub const ALL: [ErrorCategory; 32] = [
        Self::NotSpecified,
        Self::OpenError,
        Self::CloseError,
        Self::DeviceError,
        Self::DeadlockDetected,
        Self::InvalidArgument,
        Self::InvalidData,
        Self::InvalidOperation,
        Self::InvalidResult,
        Self::InvalidType,
        Self::MetadataError,
        Self::NotImplemented,
        Self::NotInstalled,
        Self::ObjectNotFound,
        Self::OperationStopped,
        Self::OperationTimeout,
        Self::SyntaxError,
        Self::ParserError,
        Self::PermissionDenied,
        Self::ResourceBusy,
        Self::ResourceExists,
        Self::ResourceUnavailable,
        Self::ReadError,
        Self::WriteError,
        Self::FromStdErr,
        Self::SecurityError,
        Self::ProtocolError,
        Self::ConnectionError,
        Self::AuthenticationError,
        Self::LimitsExceeded,
        Self::QuotaExceeded,
        Self::NotEnabled,
    ];

    /// The member name, as PowerShell prints it.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::NotSpecified => "NotSpecified",
            Self::OpenError => "OpenError",
            Self::CloseError => "CloseError",
            Self::DeviceError => "DeviceError",
            Self::DeadlockDetected => "DeadlockDetected",
            Self::InvalidArgument => "InvalidArgument",
            Self::InvalidData => "InvalidData",
            Self::InvalidOperation => "InvalidOperation",
            Self::InvalidResult => "InvalidResult",
            Self::InvalidType => "InvalidType",
            Self::MetadataError => "MetadataError",
            Self::NotImplemented => "NotImplemented",
            Self::NotInstalled => "NotInstalled",
            Self::ObjectNotFound => "ObjectNotFound",
            Self::OperationStopped => "OperationStopped",
            Self::OperationTimeout => "OperationTimeout",
            Self::SyntaxError => "SyntaxError",
            Self::ParserError => "ParserError",
            Self::PermissionDenied => "PermissionDenied",
            Self::ResourceBusy => "ResourceBusy",
            Self::ResourceExists => "ResourceExists",
            Self::ResourceUnavailable => "ResourceUnavailable",
            Self::ReadError => "ReadError",
            Self::WriteError => "WriteError",
            Self::FromStdErr => "FromStdErr",
            Self::SecurityError => "SecurityError",
            Self::ProtocolError => "ProtocolError",
            Self::ConnectionError => "ConnectionError",
            Self::AuthenticationError => "AuthenticationError",
            Self::LimitsExceeded => "LimitsExceeded",
            Self::QuotaExceeded => "QuotaExceeded",
            Self::NotEnabled => "NotEnabled",
        }
    }

    /// The category named `name` (case-insensitive), as `Write-Error
    /// -Category` accepts it.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for ErrorCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `$ErrorActionPreference` / `-ErrorAction` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionPreference {
    /// Report and keep going (the default).
    Continue,
    /// Make the error terminating.
    Stop,
    /// Record in `$Error` but do not report.
    SilentlyContinue,
    /// Neither report nor record.
    Ignore,
    /// Would prompt; a non-interactive shell treats it like `Continue`.
    Inquire,
}

impl ActionPreference {
    /// Parses a preference name (case-insensitive) or its number.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim();
        Some(match t.to_ascii_lowercase().as_str() {
            "continue" | "2" => Self::Continue,
            "stop" | "1" => Self::Stop,
            "silentlycontinue" | "0" => Self::SilentlyContinue,
            "ignore" | "4" => Self::Ignore,
            "inquire" | "3" => Self::Inquire,
            _ => return None,
        })
    }

    /// The member name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Continue => "Continue",
            Self::Stop => "Stop",
            Self::SilentlyContinue => "SilentlyContinue",
            Self::Ignore => "Ignore",
            Self::Inquire => "Inquire",
        }
    }

    /// The numeric value of `System.Management.Automation.ActionPreference`.
    #[must_use]
    pub fn number(self) -> i64 {
        match self {
            Self::SilentlyContinue => 0,
            Self::Stop => 1,
            Self::Continue => 2,
            Self::Inquire => 3,
            Self::Ignore => 4,
        }
    }
}

/// Where in a script an error happened: what PowerShell's
/// `InvocationInfo.PositionMessage` is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorPosition {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1 (characters).
    pub column: usize,
    /// The full text of the line.
    pub line_text: String,
    /// How many characters of the line the failing construct covers
    /// (the `~~~` underline); at least 1 when rendered.
    pub length: usize,
}

/// One PowerShell error: what `$_` holds in a `catch` block and what is
/// written to the error stream.
///
/// Build one with [`PsError::new`] and the `with_*` methods; the evaluator
/// fills in the position and command name when the raiser left them out.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct PsError {
    /// `$_.Exception.Message`.
    pub message: String,
    /// Full .NET type name of the exception
    /// (`System.Management.Automation.RuntimeException`,
    /// `Microsoft.VirtualManager.Utils.CarmineException`, ...). `catch [T]`
    /// matches on it and its base types.
    pub exception_type: String,
    /// `CategoryInfo.Category`.
    pub category: ErrorCategory,
    /// `FullyQualifiedErrorId`.
    pub fully_qualified_error_id: String,
    /// The command that reported the error, as invoked (`Get-SCVMMServer`):
    /// the `X : ` prefix of the rendered text and `CategoryInfo.Activity`.
    pub command: Option<String>,
    /// `CategoryInfo.TargetName`.
    pub target_name: String,
    /// `CategoryInfo.TargetType` (`String`, `Int32`, ...).
    pub target_type: String,
    /// VMM's error id when a VMM cmdlet raised the error (`$_.Exception`
    /// of a `CarmineException` carries it as well).
    pub vmm_error_id: Option<u32>,
    /// Where the failing construct is, if known.
    pub position: Option<ErrorPosition>,
    /// `$_.ScriptStackTrace`.
    pub script_stack_trace: String,
    /// Text that replaces the `X : ` command prefix, for the cases where
    /// PowerShell prints something else there (`Write-Error` at the top level
    /// prints the script text).
    pub prefix_override: Option<String>,
}

impl fmt::Display for PsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// .NET namespaces of the exception types the evaluator raises.
pub mod exception {
    /// Generic script error (`throw "x"`, conversion failures).
    pub const RUNTIME: &str = "System.Management.Automation.RuntimeException";
    /// Unknown command.
    pub const COMMAND_NOT_FOUND: &str = "System.Management.Automation.CommandNotFoundException";
    /// Parameter binding failure.
    pub const PARAMETER_BINDING: &str = "System.Management.Automation.ParameterBindingException";
    /// `Write-Error`.
    pub const WRITE_ERROR: &str = "Microsoft.PowerShell.Commands.WriteErrorException";
    /// Method call on a missing method, or a method that threw.
    pub const METHOD_INVOCATION: &str = "System.Management.Automation.MethodInvocationException";
    /// A method that does not exist.
    pub const METHOD: &str = "System.Management.Automation.MethodException";
    /// A failed conversion.
    pub const INVALID_CAST: &str = "System.Management.Automation.PSInvalidCastException";
    /// Missing file or item.
    pub const ITEM_NOT_FOUND: &str = "System.Management.Automation.ItemNotFoundException";
    /// Script parse error.
    pub const PARSE: &str = "System.Management.Automation.ParseException";
    /// A limit of the emulator was hit (not a real PowerShell type).
    pub const LIMIT: &str = "ScvmmSim.ScriptLimitException";
    /// Construct outside the emulated subset (not a real PowerShell type).
    pub const UNSUPPORTED: &str = "System.NotSupportedException";
    /// VMM's exception type.
    pub const CARMINE: &str = "Microsoft.VirtualManager.Utils.CarmineException";
    /// Argument errors of .NET methods.
    pub const ARGUMENT: &str = "System.ArgumentException";
    /// Invalid operation (`Hashtable.Add` of a duplicate, ...).
    pub const INVALID_OPERATION: &str = "System.InvalidOperationException";
    /// Bad input format (`[int]'x'`, base64).
    pub const FORMAT: &str = "System.FormatException";
    /// Division by zero.
    pub const DIVIDE_BY_ZERO: &str = "System.DivideByZeroException";
    /// Index out of range in assignments.
    pub const INDEX_OUT_OF_RANGE: &str = "System.IndexOutOfRangeException";
    /// A property that cannot be set or found.
    pub const PROPERTY_NOT_FOUND: &str = "System.Management.Automation.PropertyNotFoundException";
    /// Import-Module of an unknown module.
    pub const FILE_NOT_FOUND: &str = "System.IO.FileNotFoundException";
    /// `Set-StrictMode`-free null method calls and similar.
    pub const NULL_REFERENCE: &str = "System.NullReferenceException";
}

/// Base types of the exception types the emulator knows, so `catch
/// [System.Exception]` or `catch [RuntimeException]` match as in .NET.
fn base_types(exception_type: &str) -> &'static [&'static str] {
    const RUNTIME_BASES: &[&str] = &[
        "System.Management.Automation.RuntimeException",
        "System.SystemException",
        "System.Exception",
    ];
    match exception_type {
        exception::COMMAND_NOT_FOUND
        | exception::PARAMETER_BINDING
        | exception::PARSE
        | exception::ITEM_NOT_FOUND
        | "System.Management.Automation.ActionPreferenceStopException"
        | "System.Management.Automation.SessionStateException" => RUNTIME_BASES,
        exception::METHOD_INVOCATION => &[
            "System.Management.Automation.MethodException",
            "System.Management.Automation.RuntimeException",
            "System.SystemException",
            "System.Exception",
        ],
        exception::METHOD | exception::PROPERTY_NOT_FOUND => RUNTIME_BASES,
        exception::INVALID_CAST => &[
            "System.InvalidCastException",
            "System.Management.Automation.RuntimeException",
            "System.SystemException",
            "System.Exception",
        ],
        exception::RUNTIME
        | exception::WRITE_ERROR
        | exception::ARGUMENT
        | exception::INVALID_OPERATION
        | exception::FORMAT
        | exception::INDEX_OUT_OF_RANGE
        | exception::NULL_REFERENCE
        | exception::UNSUPPORTED
        | exception::FILE_NOT_FOUND => &["System.SystemException", "System.Exception"],
        exception::DIVIDE_BY_ZERO => &[
            "System.ArithmeticException",
            "System.SystemException",
            "System.Exception",
        ],
        _ => &["System.Exception"],
    }
}

/// Short type names PowerShell resolves without a namespace in `catch [T]`.
const NAMESPACES: &[&str] = &[
    "",
    "System.",
    "System.Management.Automation.",
    "Microsoft.PowerShell.Commands.",
    "System.IO.",
    "Microsoft.VirtualManager.Utils.",
];

impl PsError {
    /// A `RuntimeException` with `message`, category `NotSpecified` and
    /// `FullyQualifiedErrorId` `error_id`.
    #[must_use]
    pub fn new(message: impl Into<String>, error_id: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            exception_type: exception::RUNTIME.to_owned(),
            category: ErrorCategory::NotSpecified,
            fully_qualified_error_id: error_id.into(),
            command: None,
            target_name: String::new(),
            target_type: String::new(),
            vmm_error_id: None,
            position: None,
            script_stack_trace: String::new(),
            prefix_override: None,
        }
    }

    /// The same error with another exception type.
    #[must_use]
    pub fn with_exception(mut self, exception_type: impl Into<String>) -> Self {
        self.exception_type = exception_type.into();
        self
    }

    /// The same error with another category.
    #[must_use]
    pub fn with_category(mut self, category: ErrorCategory) -> Self {
        self.category = category;
        self
    }

    /// The same error attributed to `command` (the `X : ` prefix).
    #[must_use]
    pub fn with_command(mut self, command: impl Into<String>) -> Self {
        self.command = Some(command.into());
        self
    }

    /// The same error with a target (`CategoryInfo` `(name:type)`).
    #[must_use]
    pub fn with_target(mut self, name: impl Into<String>, type_name: impl Into<String>) -> Self {
        self.target_name = name.into();
        self.target_type = type_name.into();
        self
    }

    /// The same error carrying a VMM error id.
    #[must_use]
    pub fn with_vmm_error_id(mut self, id: u32) -> Self {
        self.vmm_error_id = Some(id);
        self
    }

    /// A VMM cmdlet failure shaped like VMM's `CarmineException`
    /// (reference §5.1): category `ReadError`, FullyQualifiedErrorId
    /// `<id>,Microsoft.SystemCenter.VirtualMachineManager.Cmdlets.<class>`.
    /// `message` is the full text (problem, recommended action, restart
    /// hint).
    #[must_use]
    pub fn vmm(
        command: impl Into<String>,
        cmdlet_class: &str,
        id: u32,
        message: impl Into<String>,
    ) -> Self {
        Self::new(
            message,
            format!("{id},Microsoft.SystemCenter.VirtualMachineManager.Cmdlets.{cmdlet_class}"),
        )
        .with_exception(exception::CARMINE)
        .with_category(ErrorCategory::ReadError)
        .with_command(command)
        .with_vmm_error_id(id)
    }

    /// `The term 'X' is not recognized ...` (CommandNotFoundException).
    #[must_use]
    pub fn command_not_found(name: &str) -> Self {
        Self::new(
            format!(
                "The term '{name}' is not recognized as the name of a cmdlet, function, script file, or operable program. Check the spelling of the name, or if a path was included, verify that the path is correct and try again."
            ),
            "CommandNotFoundException",
        )
        .with_exception(exception::COMMAND_NOT_FOUND)
        .with_category(ErrorCategory::ObjectNotFound)
        .with_target(name, "String")
    }

    /// A parameter binding error of `command` with id `error_id`
    /// (`NamedParameterNotFound`, `MissingArgument`, ...).
    #[must_use]
    pub fn binding(command: &str, message: impl Into<String>, error_id: &str) -> Self {
        Self::new(message, format!("{error_id},{command}"))
            .with_exception(exception::PARAMETER_BINDING)
            .with_category(ErrorCategory::InvalidArgument)
            .with_command(command)
    }

    /// A construct or command the emulator does not implement. These are
    /// never silently skipped.
    #[must_use]
    pub fn unsupported(what: impl Into<String>) -> Self {
        Self::new(
            format!("scvmm-sim does not support {}", what.into()),
            "NotSupportedByEmulator",
        )
        .with_exception(exception::UNSUPPORTED)
        .with_category(ErrorCategory::NotImplemented)
    }

    /// A limit of the evaluator (steps, recursion, output) was exceeded.
    #[must_use]
    pub fn limit(message: impl Into<String>) -> Self {
        Self::new(message, "ScriptLimitExceeded")
            .with_exception(exception::LIMIT)
            .with_category(ErrorCategory::LimitsExceeded)
    }

    /// An invalid cast: `Cannot convert value "x" to type "T". Error: "..."`.
    #[must_use]
    pub fn conversion(value_text: &str, type_name: &str, detail: &str) -> Self {
        let message = if detail.is_empty() {
            format!("Cannot convert value \"{value_text}\" to type \"{type_name}\".")
        } else {
            format!(
                "Cannot convert value \"{value_text}\" to type \"{type_name}\". Error: \"{detail}\""
            )
        };
        Self::new(message, "InvalidCastFromStringToInteger")
            .with_exception(exception::INVALID_CAST)
            .with_category(ErrorCategory::InvalidArgument)
    }

    /// `Method invocation failed because [T] does not contain a method
    /// named 'X'.`
    #[must_use]
    pub fn method_not_found(type_name: &str, method: &str) -> Self {
        Self::new(
            format!(
                "Method invocation failed because [{type_name}] does not contain a method named '{method}'."
            ),
            "MethodNotFound",
        )
        .with_exception(exception::METHOD)
        .with_category(ErrorCategory::InvalidOperation)
    }

    /// `Exception calling "M" with "n" argument(s): "inner"`.
    #[must_use]
    pub fn method_exception(method: &str, arg_count: usize, inner: &str) -> Self {
        Self::new(
            format!("Exception calling \"{method}\" with \"{arg_count}\" argument(s): \"{inner}\""),
            "MethodInvocationException",
        )
        .with_exception(exception::METHOD_INVOCATION)
        .with_category(ErrorCategory::NotSpecified)
    }

    /// Whether `catch [type_name]` catches this error: the exception type
    /// or one of its bases, with or without a namespace PowerShell would
    /// search.
    #[must_use]
    pub fn is_instance_of(&self, type_name: &str) -> bool {
        let wanted = type_name.trim();
        let candidates = std::iter::once(self.exception_type.as_str())
            .chain(base_types(&self.exception_type).iter().copied());
        for candidate in candidates {
            for ns in NAMESPACES {
                if format!("{ns}{wanted}").eq_ignore_ascii_case(candidate) {
                    return true;
                }
            }
        }
        false
    }

    /// The short exception type name (`RuntimeException`), which the
    /// `CategoryInfo` line shows as the reason.
    #[must_use]
    pub fn reason(&self) -> &str {
        self.exception_type
            .rsplit('.')
            .next()
            .unwrap_or(&self.exception_type)
    }

    /// `CategoryInfo.ToString()`:
    /// `Category: (TargetName:TargetType) [Activity], Reason`.
    #[must_use]
    pub fn category_info(&self) -> String {
        format!(
            "{}: ({}:{}) [{}], {}",
            self.category,
            self.target_name,
            self.target_type,
            self.command.as_deref().unwrap_or(""),
            self.reason()
        )
    }
}

/// How far a terminating error unwinds when nothing catches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reach {
    /// Ends the statement; the enclosing block goes on with the next one
    /// (unknown commands, parameter binding, cmdlet terminating errors).
    Statement,
    /// Ends the whole script (`throw`, `-ErrorAction Stop`).
    Script,
}

/// Why evaluation stopped early: the non-local exits of PowerShell.
#[derive(Debug)]
pub(crate) enum Flow {
    /// `break [label]`.
    Break(Option<String>),
    /// `continue [label]`.
    Continue(Option<String>),
    /// `return` (its value has already been written to the output).
    Return,
    /// `exit [code]`.
    Exit(i32),
    /// A terminating error, which `try`/`catch` can catch.
    Error(Box<PsError>, Reach),
    /// A limit was exceeded: unwinds everything, skipping `catch` and
    /// `finally`, so a hostile script cannot swallow it and spin again.
    Abort(Box<PsError>),
}

impl Flow {
    /// A script-terminating error (a limit error aborts instead).
    pub(crate) fn script(e: PsError) -> Self {
        Self::with_reach(e, Reach::Script)
    }

    /// A statement-terminating error (a limit error aborts instead).
    pub(crate) fn statement(e: PsError) -> Self {
        Self::with_reach(e, Reach::Statement)
    }

    fn with_reach(e: PsError, reach: Reach) -> Self {
        // Limit errors may pass through code that only speaks `PsError`
        // (operators, methods); they must still not be catchable.
        if e.exception_type == exception::LIMIT {
            Flow::Abort(Box::new(e))
        } else {
            Flow::Error(Box::new(e), reach)
        }
    }
}

impl From<PsError> for Flow {
    /// Errors raised inside the evaluator end the statement, like
    /// exceptions thrown by .NET methods do in PowerShell.
    fn from(e: PsError) -> Self {
        Flow::statement(e)
    }
}

/// Result type inside the evaluator.
pub(crate) type R<T> = Result<T, Flow>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catch_types_match_bases_and_short_names() {
        let e = PsError::command_not_found("foo");
        assert!(e.is_instance_of("CommandNotFoundException"));
        assert!(e.is_instance_of("System.Management.Automation.RuntimeException"));
        assert!(e.is_instance_of("Exception"));
        assert!(e.is_instance_of("system.exception"));
        assert!(!e.is_instance_of("System.IO.IOException"));
        let v = PsError::vmm("New-SCVirtualMachine", "NewVMCmdlet", 801, "x");
        assert!(v.is_instance_of("CarmineException"));
        assert!(!v.is_instance_of("RuntimeException"));
    }

    #[test]
    fn category_info_text() {
        let e = PsError::command_not_found("foo");
        assert_eq!(
            e.category_info(),
            "ObjectNotFound: (foo:String) [], CommandNotFoundException"
        );
        assert_eq!(
            ErrorCategory::from_name("readerror"),
            Some(ErrorCategory::ReadError)
        );
    }
}
