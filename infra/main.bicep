// PolicyVault on Azure: a Python Function App (Elastic Premium, so Durable orchestrations and
// long activity fan-outs never hit a consumption timeout), its storage account (Durable state,
// tables, blobs, queues), Key Vault for the Graph credential, and Application Insights.
// Deploy: az deployment group create -g <rg> -f infra/main.bicep -p name=<prefix> ...

@description('Short lowercase name used to derive resource names.')
@minLength(3)
@maxLength(16)
param name string

param location string = resourceGroup().location

@description('Client id of the MSP\'s multi-tenant app registration used for Graph.')
param graphClientId string

@description('Issuer, audience and JWKS URL of the tokens callers present to the API.')
param apiAuthIssuer string
param apiAuthAudience string
param apiAuthJwksUrl string

@description('Base URL of the portal, for links in notifications (empty: API paths).')
param portalBaseUrl string = ''

var storageName = toLower('${name}st${uniqueString(resourceGroup().id)}')

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: take(storageName, 24)
  location: location
  sku: { name: 'Standard_ZRS' }
  kind: 'StorageV2'
  properties: {
    minimumTlsVersion: 'TLS1_2'
    allowBlobPublicAccess: false
    supportsHttpsTrafficOnly: true
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: '${name}-ai'
  location: location
  kind: 'web'
  properties: { Application_Type: 'web' }
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: '${name}-kv'
  location: location
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    enablePurgeProtection: true
  }
}

resource plan 'Microsoft.Web/serverfarms@2023-12-01' = {
  name: '${name}-plan'
  location: location
  sku: { name: 'EP1', tier: 'ElasticPremium' }
  kind: 'elastic'
  properties: { reserved: true, maximumElasticWorkerCount: 10 }
}

resource app 'Microsoft.Web/sites@2023-12-01' = {
  name: '${name}-func'
  location: location
  kind: 'functionapp,linux'
  identity: { type: 'SystemAssigned' }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      linuxFxVersion: 'Python|3.11'
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      appSettings: [
        { name: 'FUNCTIONS_EXTENSION_VERSION', value: '~4' }
        { name: 'FUNCTIONS_WORKER_RUNTIME', value: 'python' }
        { name: 'AzureWebJobsFeatureFlags', value: 'EnableWorkerIndexing' }
        // Shared-key connection string for the Durable Task storage provider and the SDKs.
        { name: 'AzureWebJobsStorage', value: 'DefaultEndpointsProtocol=https;AccountName=${storage.name};EndpointSuffix=${environment().suffixes.storage};AccountKey=${storage.listKeys().keys[0].value}' }
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: insights.properties.ConnectionString }
        { name: 'PV_STORAGE_PREFIX', value: '' }
        { name: 'GRAPH_BASE_URL', value: 'https://graph.microsoft.com' }
        { name: 'ENTRA_AUTHORITY_HOST', value: 'https://login.microsoftonline.com' }
        { name: 'GRAPH_CLIENT_ID', value: graphClientId }
        // The secret lives in Key Vault; create it as secret 'graph-client-secret'.
        { name: 'GRAPH_CLIENT_SECRET', value: '@Microsoft.KeyVault(VaultName=${vault.name};SecretName=graph-client-secret)' }
        { name: 'API_AUTH_ISSUER', value: apiAuthIssuer }
        { name: 'API_AUTH_AUDIENCE', value: apiAuthAudience }
        { name: 'API_AUTH_JWKS_URL', value: apiAuthJwksUrl }
        { name: 'PORTAL_BASE_URL', value: portalBaseUrl }
      ]
    }
  }
}

// The app reads its Graph credential from Key Vault through its managed identity.
resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, app.id, 'kv-secrets-user')
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '4633458b-17de-408a-b874-0445c86b69e6')
    principalId: app.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

output functionAppName string = app.name
output apiBaseUrl string = 'https://${app.properties.defaultHostName}/api'
