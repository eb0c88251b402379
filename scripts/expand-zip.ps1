# Unpacks a zip archive for scripts/setup-rtctl.sh on a runner without unzip (Windows). The
# paths come as arguments, so nothing in them is ever read as PowerShell code.
param(
  [Parameter(Mandatory = $true, Position = 0)][string]$Archive,
  [Parameter(Mandatory = $true, Position = 1)][string]$Destination
)
$ErrorActionPreference = 'Stop'
Expand-Archive -LiteralPath $Archive -DestinationPath $Destination
