//! The real [`ScriptRunner`]: the PowerShell evaluator with the VMM cmdlets
//! bound to the shared model.

use crate::backend::{ErrorStyle, RunnerFactory, ScriptOutcome, ScriptRunner};
use crate::ps::eval::{
    BoundArguments, CommandHost, CommandSignature, FileStore, HostContext, MemoryFiles, PsError,
    Session, SessionOptions,
};
use crate::ps::eval::{HostObject, HostRef, Value};
use crate::vmm::{Clock, Vmm};
use crate::vmm_host::VmmHost;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Files as a script on the VMM server sees them: paths on a library share
/// are the model's library (so `Read-SCLibraryShare` finds what a script
/// wrote there, as the seed upload needs), everything else is the
/// session's own scratch space.
struct LibraryFiles {
    vmm: Arc<Mutex<Vmm>>,
    scratch: MemoryFiles,
}

impl LibraryFiles {
    fn on_share(&self, path: &str) -> bool {
        self.vmm
            .lock()
            .is_ok_and(|v| v.share_of_path(path).is_some())
    }
}

impl FileStore for LibraryFiles {
    fn read(&self, path: &str) -> Option<Vec<u8>> {
        if self.on_share(path) {
            return self.vmm.lock().ok()?.read_file(path);
        }
        self.scratch.read(path)
    }
    fn write(&mut self, path: &str, bytes: Vec<u8>) -> Result<(), String> {
        if self.on_share(path) {
            let mut vmm = self
                .vmm
                .lock()
                .map_err(|_| "the VMM model is unavailable".to_string())?;
            return vmm
                .write_library_file(path, bytes)
                .map_err(|e| e.to_string());
        }
        self.scratch.write(path, bytes)
    }
    fn append(&mut self, path: &str, bytes: &[u8]) -> Result<(), String> {
        if self.on_share(path) {
            let mut vmm = self
                .vmm
                .lock()
                .map_err(|_| "the VMM model is unavailable".to_string())?;
            return vmm
                .append_library_file(path, bytes)
                .map_err(|e| e.to_string());
        }
        self.scratch.append(path, bytes)
    }
    fn delete(&mut self, path: &str) -> bool {
        if self.on_share(path) {
            return self.vmm.lock().is_ok_and(|mut v| v.delete_file(path));
        }
        self.scratch.delete(path)
    }
    fn is_dir(&self, path: &str) -> bool {
        if self.on_share(path) {
            let prefix = format!("{}\\", path.trim_end_matches('\\')).to_lowercase();
            let shares = self.vmm.lock().map(|v| {
                v.inventory()
                    .library_shares
                    .iter()
                    .any(|s| s.path.eq_ignore_ascii_case(path.trim_end_matches('\\')))
                    || v.state()
                        .files
                        .iter()
                        .any(|f| f.path.to_lowercase().starts_with(&prefix))
            });
            // Directories on a share exist once written into, or always for
            // the share root; scripts create their own folders first.
            return shares.unwrap_or(false) || self.scratch.is_dir(path);
        }
        self.scratch.is_dir(path)
    }
    fn create_dir(&mut self, path: &str) -> Result<(), String> {
        // The model keeps files, not folders; a folder on a share is implied
        // by the files in it, so creating one only has to succeed.
        self.scratch.create_dir(path)
    }
}

/// The VMM cmdlets plus the library-aware file system.
struct SimHost {
    vmm_host: VmmHost,
    files: LibraryFiles,
}

impl CommandHost for SimHost {
    fn invoke(
        &mut self,
        name: &str,
        args: &BoundArguments,
        input: Vec<Value>,
        ctx: &mut HostContext<'_>,
    ) -> Option<Result<Vec<Value>, PsError>> {
        self.vmm_host.invoke(name, args, input, ctx)
    }
    fn signature(&self, name: &str) -> Option<CommandSignature> {
        self.vmm_host.signature(name)
    }
    fn has_command(&self, name: &str) -> bool {
        self.vmm_host.has_command(name)
    }
    fn resolve(&mut self, object: &HostRef) -> Option<HostObject> {
        self.vmm_host.resolve(object)
    }
    fn call_method(
        &mut self,
        object: &HostRef,
        method: &str,
        args: &[Value],
    ) -> Option<Result<Value, PsError>> {
        self.vmm_host.call_method(object, method, args)
    }
    fn now(&self) -> jiff::Timestamp {
        self.vmm_host.now()
    }
    fn sleep(&mut self, duration: Duration) {
        self.vmm_host.sleep(duration);
    }
    fn files(&mut self) -> Option<&mut dyn FileStore> {
        Some(&mut self.files)
    }
}

/// One PowerShell process: a session and its host.
pub struct EvalRunner {
    session: Session,
    host: SimHost,
}

impl ScriptRunner for EvalRunner {
    fn run(&mut self, script: &str, errors: ErrorStyle) -> ScriptOutcome {
        let result = self.session.run(script, &mut self.host);
        let exit = i64::from(result.exit_code);
        match errors {
            // Warnings and verbose records travel inside the CLIXML here;
            // stdout_text() would print them a second time.
            ErrorStyle::Clixml => ScriptOutcome {
                stdout: result.stdout_plain(),
                stderr: result.stderr_clixml(),
                exit_code: Some(exit),
            },
            // A console session goes on after an error; only `exit` ends it.
            ErrorStyle::Text => ScriptOutcome {
                stdout: result.stdout_text(),
                stderr: result.stderr_text(),
                exit_code: result.exited.then_some(exit),
            },
        }
    }
}

/// Sessions over the shared model, one per WinRS command.
pub fn factory(vmm: Arc<Mutex<Vmm>>, clock: Arc<dyn Clock>) -> RunnerFactory {
    Arc::new(move || {
        Box::new(EvalRunner {
            session: Session::new(SessionOptions {
                computer_name: "SCVMM-SIM".into(),
                ..SessionOptions::default()
            }),
            host: SimHost {
                vmm_host: VmmHost::new(vmm.clone(), clock.clone()),
                files: LibraryFiles {
                    vmm: vmm.clone(),
                    scratch: MemoryFiles::new(),
                },
            },
        }) as Box<dyn ScriptRunner>
    })
}
