"""Drives scvmm-sim with pywinrm (NTLM, sealed) through a VM's whole life,
the way an automation client would against a real VMM server: upload a
cloud-init seed to the library in chunks, index it, create a VM from a
template, attach the seed, start it, wait for the guest to report its
addresses, stop it, remove it and the ISO. Prints one JSON object per step.

Usage: pywinrm_flow.py ENDPOINT USER PASSWORD ISO_FILE VM_NAME
"""
import base64
import json
import sys
import time

import winrm

endpoint, user, password, iso_file, vm_name = sys.argv[1:6]
s = winrm.Session(endpoint, auth=(user, password), transport="ntlm", operation_timeout_sec=5, read_timeout_sec=20)
share = r"\\vmm01.contoso.com\MSSCVMMLibrary"
iso_path = share + "\\capi-seeds\\" + vm_name + ".iso"


def ps(step, script):
    r = s.run_ps(script)
    out = r.std_out.decode("utf-8", "replace").strip()
    err = r.std_err.decode("utf-8", "replace").strip()
    print(json.dumps({"step": step, "status": r.status_code, "stdout": out, "stderr": err}), flush=True)
    if r.status_code != 0:
        sys.exit(1)
    return out


data = open(iso_file, "rb").read()
chunk = 4096
for i in range(0, len(data), chunk):
    b64 = base64.b64encode(data[i:i + chunk]).decode()
    verb = "Set-Content" if i == 0 else "Add-Content"
    ps("upload", f"$b = [Convert]::FromBase64String('{b64}'); {verb} -Path '{iso_path}' -Value $b -Encoding Byte")

ps("index", f"""
$share = Get-SCLibraryShare | Where-Object {{ $_.Path -eq '{share}' }}
Read-SCLibraryShare -LibraryShare $share | Out-Null
$iso = Get-SCISO | Where-Object {{ $_.Name -eq '{vm_name}.iso' }}
if (-not $iso) {{ throw 'the seed ISO was not indexed' }}
$iso.Name
""")

ps("create", f"""
$ErrorActionPreference = 'Stop'
$template = Get-SCVMTemplate -Name 'Ubuntu 24.04'
$hostGroup = Get-SCVMHostGroup -Name 'All Hosts'
$config = New-SCVMConfiguration -VMTemplate $template -Name '{vm_name}' -VMHostGroup $hostGroup
$vm = New-SCVirtualMachine -Name '{vm_name}' -VMConfiguration $config -RunAsynchronously
$vm.Status.ToString()
""")

def wait_status(step, wanted, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        status = ps(step, f"(Get-SCVirtualMachine -Name '{vm_name}').Status.ToString()")
        if status == wanted:
            return
        time.sleep(0.3)
    print(json.dumps({"step": step, "error": f"status never became {wanted}"}), flush=True)
    sys.exit(1)

wait_status("created", "PowerOff")

ps("attach", f"""
$ErrorActionPreference = 'Stop'
$vm = Get-SCVirtualMachine -Name '{vm_name}'
$iso = Get-SCISO | Where-Object {{ $_.Name -eq '{vm_name}.iso' }}
$dvd = Get-SCVirtualDVDDrive -VM $vm | Select-Object -First 1
if (-not $dvd) {{ $dvd = New-SCVirtualDVDDrive -VM $vm -Bus 1 -LUN 0 }}
Set-SCVirtualDVDDrive -VirtualDVDDrive $dvd -ISO $iso | Out-Null
'attached'
""")

ps("start", f"Start-SCVirtualMachine -VM (Get-SCVirtualMachine -Name '{vm_name}') -RunAsynchronously | Out-Null; 'starting'")
wait_status("running", "Running")

deadline = time.time() + 60
addresses = ""
while time.time() < deadline:
    addresses = ps("addresses", f"""
$vm = Get-SCVirtualMachine -Name '{vm_name}'
Read-SCVirtualMachine -VM $vm | Out-Null
(Get-SCVirtualNetworkAdapter -VM $vm | ForEach-Object {{ $_.IPv4Addresses }}) -join ','
""")
    if addresses:
        break
    time.sleep(0.5)
print(json.dumps({"step": "guest", "addresses": addresses}), flush=True)

ps("stop", f"Stop-SCVirtualMachine -VM (Get-SCVirtualMachine -Name '{vm_name}') | Out-Null; (Get-SCVirtualMachine -Name '{vm_name}').Status.ToString()")
ps("remove", f"""
$ErrorActionPreference = 'Stop'
Remove-SCVirtualMachine -VM (Get-SCVirtualMachine -Name '{vm_name}') | Out-Null
Get-SCISO | Where-Object {{ $_.Name -eq '{vm_name}.iso' }} | Remove-SCISO | Out-Null
@(Get-SCVirtualMachine -Name '{vm_name}').Count
""")
