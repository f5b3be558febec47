//! VM configurations: New-, Set-, Update-, Remove-SCVMConfiguration.
//! A configuration pairs a template with a placement target (host group or
//! cloud); Update-SCVMConfiguration runs placement and records the host,
//! which New-SCVirtualMachine -VMConfiguration then uses. Without it, VMM
//! places the VM itself at creation (what willemm relies on).

use uuid::Uuid;

use super::super::Vmm;
use super::super::errors::{VmmError, VmmResult};
use super::super::inventory::same_name;
use super::super::objects::VmConfiguration;
use super::super::placement::{Demand, PlacementTarget};
use super::Ref;

/// New-SCVMConfiguration.
#[derive(Clone, Debug, PartialEq)]
pub struct NewVmConfiguration {
    /// `-VMTemplate`.
    pub template: Ref,
    /// `-Name`.
    pub name: String,
    /// `-VMHostGroup`.
    pub host_group: Option<Ref>,
    /// `-Cloud`.
    pub cloud: Option<Ref>,
    /// `-Description`.
    pub description: String,
    /// `-AvailabilitySetNames`.
    pub availability_set_names: Vec<String>,
}

/// Set-SCVMConfiguration.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SetVmConfiguration {
    /// `-VMHost`.
    pub host: Option<Ref>,
    /// `-PinVMHost`.
    pub pin_host: Option<bool>,
    /// `-VMHostGroup`.
    pub host_group: Option<Ref>,
    /// `-Cloud`.
    pub cloud: Option<Ref>,
    /// `-VMLocation`.
    pub location: Option<String>,
    /// `-ComputerName`.
    pub computer_name: Option<String>,
    /// `-Name`.
    pub name: Option<String>,
    /// `-Description`.
    pub description: Option<String>,
    /// `-Tag`.
    pub tag: Option<String>,
    /// `-AvailabilitySetNames`.
    pub availability_set_names: Option<Vec<String>>,
}

impl Vmm {
    fn configuration(&self, id: Uuid) -> VmmResult<VmConfiguration> {
        self.state
            .configurations
            .iter()
            .find(|c| c.id == id)
            .cloned()
            .ok_or_else(|| VmmError::not_found("VMConfiguration", &id.to_string()))
    }

    fn store_configuration(&mut self, cfg: VmConfiguration) {
        match self
            .state
            .configurations
            .iter_mut()
            .find(|c| c.id == cfg.id)
        {
            Some(slot) => *slot = cfg,
            None => self.state.configurations.push(cfg),
        }
    }

    /// Runs placement for a configuration; `Ok(host)` or the reason.
    fn place_configuration(&self, cfg: &VmConfiguration) -> VmmResult<Uuid> {
        let t = self
            .inventory
            .template(cfg.template)
            .ok_or_else(|| VmmError::not_found("VMTemplate", &cfg.template.to_string()))?;
        let demand = Demand {
            name: &cfg.name,
            cpu_count: t.cpu_count,
            memory_mb: t.memory_mb,
            availability_sets: &cfg.availability_set_names,
            exclude: None,
        };
        let target = match (cfg.host.filter(|_| cfg.pin_host), cfg.cloud, cfg.host_group) {
            (Some(h), _, _) => PlacementTarget::Host(h),
            (None, Some(c), _) => PlacementTarget::Cloud(c),
            (None, None, Some(g)) => PlacementTarget::HostGroup(g),
            (None, None, None) => PlacementTarget::HostGroup(
                self.inventory
                    .host_groups
                    .iter()
                    .find(|g| g.is_root())
                    .map(|g| g.id)
                    .ok_or_else(|| VmmError::not_found("VMHostGroup", "All Hosts"))?,
            ),
        };
        self.place(target, &demand)
    }

    /// New-SCVMConfiguration: validates placement (`IsValid`) without
    /// choosing a host.
    pub fn new_vm_configuration(&mut self, req: &NewVmConfiguration) -> VmmResult<VmConfiguration> {
        const CMDLET: &str = "New-SCVMConfiguration";
        self.settle();
        let template = self.resolve_template(&req.template, CMDLET)?;
        let host_group = req
            .host_group
            .as_ref()
            .map(|g| self.resolve_host_group(g, CMDLET))
            .transpose()?;
        let cloud = req
            .cloud
            .as_ref()
            .map(|c| self.resolve_cloud(c, CMDLET))
            .transpose()?;
        self.inject(CMDLET, &req.name, None)?;
        let mut cfg = VmConfiguration {
            id: self.new_id(),
            name: req.name.clone(),
            template,
            host_group,
            cloud,
            host: None,
            pin_host: false,
            location: None,
            computer_name: None,
            availability_set_names: req.availability_set_names.clone(),
            description: req.description.clone(),
            tag: String::new(),
            is_valid: true,
            validation_errors: Vec::new(),
        };
        if let Err(e) = self.place_configuration(&cfg) {
            cfg.is_valid = false;
            cfg.validation_errors.push(e.message);
        }
        self.store_configuration(cfg.clone());
        Ok(cfg)
    }

    /// Set-SCVMConfiguration.
    pub fn set_vm_configuration(
        &mut self,
        configuration: &Ref,
        req: &SetVmConfiguration,
    ) -> VmmResult<VmConfiguration> {
        const CMDLET: &str = "Set-SCVMConfiguration";
        self.settle();
        let id = self.resolve_configuration(configuration, CMDLET)?;
        let mut cfg = self.configuration(id)?;
        if let Some(h) = &req.host {
            cfg.host = Some(self.resolve_host(h, CMDLET)?);
            cfg.pin_host = req.pin_host.unwrap_or(true);
        } else if let Some(p) = req.pin_host {
            cfg.pin_host = p;
        }
        if let Some(g) = &req.host_group {
            cfg.host_group = Some(self.resolve_host_group(g, CMDLET)?);
        }
        if let Some(c) = &req.cloud {
            cfg.cloud = Some(self.resolve_cloud(c, CMDLET)?);
        }
        if let Some(l) = &req.location {
            cfg.location = Some(l.clone());
        }
        if let Some(n) = &req.computer_name {
            cfg.computer_name = Some(n.clone());
        }
        if let Some(n) = &req.name {
            cfg.name = n.clone();
        }
        if let Some(d) = &req.description {
            cfg.description = d.clone();
        }
        if let Some(t) = &req.tag {
            cfg.tag = t.clone();
        }
        if let Some(a) = &req.availability_set_names {
            cfg.availability_set_names = a.clone();
        }
        self.store_configuration(cfg.clone());
        Ok(cfg)
    }

    /// Update-SCVMConfiguration: runs placement and records the host (not
    /// with `validate_only`). With `vm_name`, fails when a VM of that name
    /// is already on the chosen host \[DOC\].
    pub fn update_vm_configuration(
        &mut self,
        configuration: &Ref,
        validate_only: bool,
        vm_name: Option<&str>,
    ) -> VmmResult<VmConfiguration> {
        const CMDLET: &str = "Update-SCVMConfiguration";
        self.settle();
        let id = self.resolve_configuration(configuration, CMDLET)?;
        let mut cfg = self.configuration(id)?;
        self.inject(CMDLET, &cfg.name, cfg.host)?;
        let placed = self.place_configuration(&cfg).and_then(|host| {
            if let Some(name) = vm_name
                && self
                    .state
                    .vms
                    .iter()
                    .any(|v| v.host == Some(host) && same_name(&v.name, name))
            {
                let host_name = self
                    .inventory
                    .host(host)
                    .map(|h| h.name.clone())
                    .unwrap_or_default();
                return Err(VmmError::duplicate_name_on_host(name, &host_name));
            }
            Ok(host)
        });
        match placed {
            Ok(host) => {
                cfg.is_valid = true;
                cfg.validation_errors.clear();
                if !validate_only {
                    cfg.host = Some(host);
                }
                self.store_configuration(cfg.clone());
                Ok(cfg)
            }
            Err(e) => {
                cfg.is_valid = false;
                cfg.validation_errors = vec![e.message.clone()];
                self.store_configuration(cfg);
                Err(e)
            }
        }
    }

    /// Remove-SCVMConfiguration.
    pub fn remove_vm_configuration(&mut self, configuration: &Ref) -> VmmResult<VmConfiguration> {
        self.settle();
        let id = self.resolve_configuration(configuration, "Remove-SCVMConfiguration")?;
        let cfg = self.configuration(id)?;
        self.state.configurations.retain(|c| c.id != id);
        Ok(cfg)
    }
}
