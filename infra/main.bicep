// PolicyVault on Azure, for `azd up` (azure.yaml): a resource group holding everything
// resources.bicep describes. Parameters come from infra/main.parameters.json, which reads the
// azd environment (`azd env set GRAPH_CLIENT_ID ...`); see infra/README.md.
targetScope = 'subscription'

@description('Name of the azd environment; names the resource group and seeds resource names.')
@minLength(1)
@maxLength(64)
param environmentName string

@description('Region of every resource; one that offers Flex Consumption.')
@metadata({ azd: { type: 'location' } })
param location string

@description('Client id of the MSP\'s multi-tenant app registration used for Graph.')
@minLength(1)
param graphClientId string

@description('Its client secret, written to Key Vault (empty: keep the secret already there).')
@secure()
param graphClientSecret string = ''

@description('Issuer, audience and JWKS URL of the tokens callers present to the API.')
@minLength(1)
param apiAuthIssuer string
@minLength(1)
param apiAuthAudience string
@minLength(1)
param apiAuthJwksUrl string

param portalBaseUrl string = ''
param alwaysReadyDurable int = 1
param alwaysReadyHttp int = 0
param maximumInstanceCount int = 40
param zoneRedundant bool = false

var tags = { 'azd-env-name': environmentName }

resource group 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module resources 'resources.bicep' = {
  name: 'policyvault'
  scope: group
  params: {
    name: 'pv${take(uniqueString(subscription().id, environmentName, location), 8)}'
    location: location
    tags: tags
    graphClientId: graphClientId
    graphClientSecret: graphClientSecret
    apiAuthIssuer: apiAuthIssuer
    apiAuthAudience: apiAuthAudience
    apiAuthJwksUrl: apiAuthJwksUrl
    portalBaseUrl: portalBaseUrl
    alwaysReadyDurable: alwaysReadyDurable
    alwaysReadyHttp: alwaysReadyHttp
    maximumInstanceCount: maximumInstanceCount
    zoneRedundant: zoneRedundant
  }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = group.name
output AZURE_FUNCTION_NAME string = resources.outputs.functionAppName
output API_BASE_URL string = resources.outputs.apiBaseUrl
output KEY_VAULT_NAME string = resources.outputs.keyVaultName
output PV_KEY_VAULT_KEY_ID string = resources.outputs.keyEncryptionKeyId
output EGRESS_IP_ADDRESS string = resources.outputs.egressIpAddress
