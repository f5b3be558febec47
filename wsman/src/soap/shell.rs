//! Shell creation: the Create request body and the CreateResponse.

use std::time::Duration;

use super::duration::{format_duration, parse_duration};
use super::header::{OptionSet, bool_option, parse_bool_option};
use super::ns;
use super::tree::{Element, is_xml_space};
use super::writer::XmlWriter;
use crate::error::{Error, Result};

/// Code page 65001 (UTF-8), so command output is UTF-8 rather than the OEM page.
pub const CODEPAGE_UTF8: u32 = 65001;

/// An environment variable set in the new shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvVar {
    /// Variable name.
    pub name: String,
    /// Variable value.
    pub value: String,
}

/// The body of a Create request: `<rsp:Shell>` plus the WinRS options that
/// travel in the header's OptionSet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateShell {
    /// Input stream names, normally `stdin`.
    pub input_streams: Vec<String>,
    /// Output stream names, normally `stdout stderr`.
    pub output_streams: Vec<String>,
    /// Initial working directory.
    pub working_directory: Option<String>,
    /// Environment variables for every command in the shell.
    pub environment: Vec<EnvVar>,
    /// How long the shell may sit idle before the server deletes it.
    pub idle_timeout: Option<Duration>,
    /// `WINRS_NOPROFILE`: skip loading the user profile.
    pub no_profile: Option<bool>,
    /// `WINRS_CODEPAGE`: the shell's console code page.
    pub codepage: Option<u32>,
}

impl Default for CreateShell {
    /// stdin in, stdout and stderr out, no profile, UTF-8 code page.
    fn default() -> Self {
        CreateShell {
            input_streams: vec!["stdin".to_string()],
            output_streams: vec!["stdout".to_string(), "stderr".to_string()],
            working_directory: None,
            environment: Vec::new(),
            idle_timeout: None,
            no_profile: Some(true),
            codepage: Some(CODEPAGE_UTF8),
        }
    }
}

impl CreateShell {
    pub(crate) fn header_options(&self) -> OptionSet {
        let mut set = OptionSet::default();
        if let Some(v) = self.no_profile {
            set.set(ns::option::NOPROFILE, bool_option(v));
        }
        if let Some(v) = self.codepage {
            set.set(ns::option::CODEPAGE, v.to_string());
        }
        set
    }

    pub(crate) fn write(&self, w: &mut XmlWriter) {
        w.open("rsp:Shell", &[]);
        if !self.environment.is_empty() {
            w.open("rsp:Environment", &[]);
            for var in &self.environment {
                w.leaf("rsp:Variable", &[("Name", &var.name)], &var.value);
            }
            w.close("rsp:Environment");
        }
        if let Some(dir) = &self.working_directory {
            w.leaf("rsp:WorkingDirectory", &[], dir);
        }
        if let Some(t) = self.idle_timeout {
            w.leaf("rsp:IdleTimeOut", &[], &format_duration(t));
        }
        write_stream_list(w, "rsp:InputStreams", &self.input_streams);
        write_stream_list(w, "rsp:OutputStreams", &self.output_streams);
        w.close("rsp:Shell");
    }

    /// Reads `<rsp:Shell>`, taking the WinRS options out of `options`.
    pub(crate) fn read(shell: &Element, options: &mut OptionSet) -> Result<Self> {
        let no_profile = options
            .remove(ns::option::NOPROFILE)
            .map(|v| parse_bool_option("WINRS_NOPROFILE", &v))
            .transpose()?;
        let codepage = options
            .remove(ns::option::CODEPAGE)
            .map(|v| {
                v.trim().parse().map_err(|_| {
                    Error::invalid("WINRS_CODEPAGE", &v, "expected a code page number")
                })
            })
            .transpose()?;
        let environment = shell
            .child(ns::SHELL, "Environment")
            .map(|env| {
                env.children_named(ns::SHELL, "Variable")
                    .map(|v| {
                        Ok(EnvVar {
                            name: v
                                .attr("Name")
                                .ok_or(Error::Missing {
                                    context: "Create request environment variable",
                                    item: "Name attribute",
                                })?
                                .to_string(),
                            value: v.text.clone(),
                        })
                    })
                    .collect::<Result<Vec<_>>>()
            })
            .transpose()?
            .unwrap_or_default();
        Ok(CreateShell {
            input_streams: read_stream_list(shell, "InputStreams"),
            output_streams: read_stream_list(shell, "OutputStreams"),
            working_directory: shell
                .child(ns::SHELL, "WorkingDirectory")
                .map(|d| d.text.clone()),
            environment,
            idle_timeout: shell
                .child_text(ns::SHELL, "IdleTimeOut")
                .map(parse_duration)
                .transpose()?,
            no_profile,
            codepage,
        })
    }
}

/// The body of a CreateResponse: the new shell's identity and properties.
///
/// Windows reports the ShellId twice, in `x:ResourceCreated` (pywinrm and Go
/// read the selector) and in `rsp:Shell` (winrm-rs reads `ShellId`); the
/// builder writes both and the parser accepts either.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CreateResponse {
    /// The new shell's identifier, used as the ShellId selector from now on.
    pub shell_id: String,
    /// `x:ResourceCreated/a:Address`: the endpoint that owns the shell.
    pub address: Option<String>,
    /// The shell's resource URI.
    pub resource_uri: Option<String>,
    /// The account that owns the shell.
    pub owner: Option<String>,
    /// The client address the server saw.
    pub client_ip: Option<String>,
    /// The idle timeout in force.
    pub idle_timeout: Option<Duration>,
    /// Input stream names.
    pub input_streams: Vec<String>,
    /// Output stream names.
    pub output_streams: Vec<String>,
}

impl CreateResponse {
    pub(crate) fn write(&self, w: &mut XmlWriter) {
        w.open("x:ResourceCreated", &[]);
        if let Some(addr) = &self.address {
            w.leaf("a:Address", &[], addr);
        }
        w.open("a:ReferenceParameters", &[]);
        if let Some(uri) = &self.resource_uri {
            w.leaf("w:ResourceURI", &[], uri);
        }
        w.open("w:SelectorSet", &[]);
        w.leaf("w:Selector", &[("Name", "ShellId")], &self.shell_id);
        w.close("w:SelectorSet");
        w.close("a:ReferenceParameters");
        w.close("x:ResourceCreated");

        w.open("rsp:Shell", &[]);
        w.leaf("rsp:ShellId", &[], &self.shell_id);
        if let Some(uri) = &self.resource_uri {
            w.leaf("rsp:ResourceUri", &[], uri);
        }
        if let Some(owner) = &self.owner {
            w.leaf("rsp:Owner", &[], owner);
        }
        if let Some(ip) = &self.client_ip {
            w.leaf("rsp:ClientIP", &[], ip);
        }
        if let Some(t) = self.idle_timeout {
            w.leaf("rsp:IdleTimeOut", &[], &format_duration(t));
        }
        write_stream_list(w, "rsp:InputStreams", &self.input_streams);
        write_stream_list(w, "rsp:OutputStreams", &self.output_streams);
        w.close("rsp:Shell");
    }

    pub(crate) fn read(body: &Element) -> Result<Self> {
        let shell = body.descendant(ns::SHELL, "Shell");
        let created = body.descendant(ns::TRANSFER, "ResourceCreated");
        let reference = created.and_then(|c| c.child(ns::ADDRESSING, "ReferenceParameters"));
        let mut selectors = Vec::new();
        body.descendants(ns::WSMAN, "Selector", &mut selectors);
        let shell_id = shell
            .and_then(|s| s.child_text(ns::SHELL, "ShellId"))
            .or_else(|| {
                selectors
                    .iter()
                    .find(|s| s.attr("Name") == Some("ShellId"))
                    .map(|s| s.trimmed())
            })
            .filter(|id| !id.is_empty())
            .ok_or(Error::Missing {
                context: "CreateResponse",
                item: "ShellId (neither rsp:Shell/rsp:ShellId nor a ShellId selector)",
            })?
            .to_string();
        let text = |el: Option<&Element>, name: &str| {
            el.and_then(|e| e.child_text(ns::SHELL, name))
                .map(str::to_string)
        };
        Ok(CreateResponse {
            shell_id,
            address: created
                .and_then(|c| c.child_text(ns::ADDRESSING, "Address"))
                .map(str::to_string),
            resource_uri: text(shell, "ResourceUri").or_else(|| {
                reference
                    .and_then(|r| r.child_text(ns::WSMAN, "ResourceURI"))
                    .map(str::to_string)
            }),
            owner: text(shell, "Owner"),
            client_ip: text(shell, "ClientIP"),
            idle_timeout: shell
                .and_then(|s| s.child_text(ns::SHELL, "IdleTimeOut"))
                .map(parse_duration)
                .transpose()?,
            input_streams: shell
                .map(|s| read_stream_list(s, "InputStreams"))
                .unwrap_or_default(),
            output_streams: shell
                .map(|s| read_stream_list(s, "OutputStreams"))
                .unwrap_or_default(),
        })
    }
}

fn write_stream_list(w: &mut XmlWriter, name: &str, streams: &[String]) {
    if !streams.is_empty() {
        w.leaf(name, &[], &streams.join(" "));
    }
}

fn read_stream_list(shell: &Element, name: &str) -> Vec<String> {
    shell
        .child(ns::SHELL, name)
        .map(|el| split_names(&el.text))
        .unwrap_or_default()
}

/// Splits a whitespace-separated list of stream names.
pub(crate) fn split_names(text: &str) -> Vec<String> {
    text.split(is_xml_space)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}
