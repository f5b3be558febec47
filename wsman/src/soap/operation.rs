//! The six WinRS operations and their Action URIs.

use std::fmt;

use super::ns::action;

/// A WinRS shell operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// Create a shell.
    Create,
    /// Start a command.
    Command,
    /// Write stdin.
    Send,
    /// Poll output.
    Receive,
    /// Signal a command.
    Signal,
    /// Delete a shell.
    Delete,
}

impl Operation {
    /// Every operation, for iteration in tests and dispatch tables.
    pub const ALL: [Operation; 6] = [
        Operation::Create,
        Operation::Command,
        Operation::Send,
        Operation::Receive,
        Operation::Signal,
        Operation::Delete,
    ];

    /// The request Action URI.
    pub fn request_action(self) -> &'static str {
        match self {
            Operation::Create => action::CREATE,
            Operation::Command => action::COMMAND,
            Operation::Send => action::SEND,
            Operation::Receive => action::RECEIVE,
            Operation::Signal => action::SIGNAL,
            Operation::Delete => action::DELETE,
        }
    }

    /// The response Action URI.
    pub fn response_action(self) -> &'static str {
        match self {
            Operation::Create => action::CREATE_RESPONSE,
            Operation::Command => action::COMMAND_RESPONSE,
            Operation::Send => action::SEND_RESPONSE,
            Operation::Receive => action::RECEIVE_RESPONSE,
            Operation::Signal => action::SIGNAL_RESPONSE,
            Operation::Delete => action::DELETE_RESPONSE,
        }
    }

    /// The operation a request Action names.
    pub fn from_request_action(uri: &str) -> Option<Self> {
        let uri = uri.trim();
        Self::ALL.into_iter().find(|op| op.request_action() == uri)
    }

    /// The operation a response Action answers.
    pub fn from_response_action(uri: &str) -> Option<Self> {
        let uri = uri.trim();
        Self::ALL.into_iter().find(|op| op.response_action() == uri)
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::Create => "Create",
            Operation::Command => "Command",
            Operation::Send => "Send",
            Operation::Receive => "Receive",
            Operation::Signal => "Signal",
            Operation::Delete => "Delete",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_map_both_ways() {
        for op in Operation::ALL {
            assert_eq!(
                Operation::from_request_action(op.request_action()),
                Some(op)
            );
            assert_eq!(
                Operation::from_response_action(op.response_action()),
                Some(op)
            );
            assert_eq!(Operation::from_request_action(op.response_action()), None);
        }
    }
}
