// PolicyVault in one resource group: a Python Function App on the Flex Consumption plan with a
// user-assigned managed identity, and what it reaches with that identity only, never a key:
// its storage account (Durable Task state, tables, snapshot blobs, the run-events queue, the
// deployment package), Key Vault (the Graph credential and the snapshot key-encryption key) and
// Application Insights. Storage and Key Vault accept traffic only from private endpoints in the
// app's virtual network; the app leaves the network for Graph through a NAT gateway, from one
// fixed address. Deployed by main.bicep (azd up), or on its own:
//   az deployment group create -g <rg> -f infra/resources.bicep -p name=<prefix> ...

@description('Short lowercase name used to derive resource names.')
@minLength(3)
@maxLength(12)
param name string

param location string = resourceGroup().location
param tags object = {}

@description('Client id of the MSP\'s multi-tenant app registration used for Graph.')
param graphClientId string

@description('Its client secret, stored in Key Vault as graph-client-secret (empty: set it later).')
@secure()
param graphClientSecret string = ''

@description('Issuer, audience and JWKS URL of the tokens callers present to the API.')
param apiAuthIssuer string
param apiAuthAudience string
param apiAuthJwksUrl string

@description('Base URL of the portal, for links in notifications (empty: API paths).')
param portalBaseUrl string = ''

@description('Always-ready instances for the durable group (orchestrators and activities).')
@minValue(0)
param alwaysReadyDurable int = 1

@description('Always-ready instances for the http group (the API).')
@minValue(0)
param alwaysReadyHttp int = 0

@description('Most instances the app scales out to. Each instance keeps its own Graph budget per tenant.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('Spread the plan\'s instances over availability zones (only where Flex Consumption offers it).')
param zoneRedundant bool = false

@description('Geo-redundant where the region pairs, zone-redundant within it.')
@allowed(['Standard_GZRS', 'Standard_RAGZRS', 'Standard_GRS', 'Standard_RAGRS'])
param storageSku string = 'Standard_GZRS'

@description('Address space of the app\'s virtual network, and its two subnets: the app, private endpoints.')
param vnetAddressPrefix string = '10.40.0.0/23'
param appSubnetPrefix string = '10.40.0.0/24'
param endpointSubnetPrefix string = '10.40.1.0/24'

@description('Deployment time: sets the first expiry of the key-encryption key and of the secret.')
param deployedAt string = utcNow()

var token = uniqueString(resourceGroup().id, name)
var storageName = 'st${token}'
var packageContainer = 'app-package'
var storageSuffix = environment().suffixes.storage

// Built-in role definitions (learn.microsoft.com/azure/role-based-access-control/built-in-roles).
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  keyVaultCryptoUser: '12338af0-0e69-4776-bea7-57ae8d297424'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

// ---------------------------------------------------------------- identity and monitoring

// One identity for everything the app reaches. User-assigned, so its roles exist before the
// app's first start.
resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${name}-id'
  location: location
  tags: tags
}

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: '${name}-log'
  location: location
  tags: tags
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: 90
  }
}

// Local (instrumentation-key) ingestion is off: the app sends telemetry with an Entra token.
resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: '${name}-ai'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    DisableLocalAuth: true
  }
}

// ---------------------------------------------------------------- network

resource egressAddress 'Microsoft.Network/publicIPAddresses@2024-05-01' = {
  name: '${name}-egress-ip'
  location: location
  tags: tags
  sku: { name: 'Standard' }
  properties: {
    publicIPAllocationMethod: 'Static'
    publicIPAddressVersion: 'IPv4'
  }
}

// Graph and Entra calls leave through here: one address customers can name in their
// Conditional Access locations.
resource egress 'Microsoft.Network/natGateways@2024-05-01' = {
  name: '${name}-nat'
  location: location
  tags: tags
  sku: { name: 'Standard' }
  properties: {
    idleTimeoutInMinutes: 4
    publicIpAddresses: [{ id: egressAddress.id }]
  }
}

// No inbound rules of our own: the defaults let the virtual network in and nothing else.
resource appNsg 'Microsoft.Network/networkSecurityGroups@2024-05-01' = {
  name: '${name}-app-nsg'
  location: location
  tags: tags
  properties: { securityRules: [] }
}

resource endpointNsg 'Microsoft.Network/networkSecurityGroups@2024-05-01' = {
  name: '${name}-pe-nsg'
  location: location
  tags: tags
  properties: { securityRules: [] }
}

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: '${name}-vnet'
  location: location
  tags: tags
  properties: {
    addressSpace: { addressPrefixes: [vnetAddressPrefix] }
    subnets: [
      {
        // Flex Consumption integrates with a subnet delegated to Microsoft.App/environments.
        name: 'app'
        properties: {
          addressPrefix: appSubnetPrefix
          defaultOutboundAccess: false
          natGateway: { id: egress.id }
          networkSecurityGroup: { id: appNsg.id }
          delegations: [
            {
              name: 'flex'
              properties: { serviceName: 'Microsoft.App/environments' }
            }
          ]
        }
      }
      {
        name: 'endpoints'
        properties: {
          addressPrefix: endpointSubnetPrefix
          defaultOutboundAccess: false
          networkSecurityGroup: { id: endpointNsg.id }
          privateEndpointNetworkPolicies: 'Disabled'
        }
      }
    ]
  }
}

// ---------------------------------------------------------------- storage

// Shared keys are disabled: the host (AzureWebJobsStorage__accountName), the Durable Task
// extension, the app's own clients and the deployment all use the identity.
resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_43: the name is 'st' + uniqueString(), 15 lowercase letters and digits; checkov does not evaluate the variable
  name: storageName
  location: location
  tags: tags
  sku: { name: storageSku }
  kind: 'StorageV2'
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Disabled'
    networkAcls: {
      defaultAction: 'Deny'
      bypass: 'AzureServices'
    }
    encryption: {
      requireInfrastructureEncryption: true
      keySource: 'Microsoft.Storage'
      services: {
        blob: { enabled: true, keyType: 'Account' }
        file: { enabled: true, keyType: 'Account' }
        queue: { enabled: true, keyType: 'Account' }
        table: { enabled: true, keyType: 'Account' }
      }
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    deleteRetentionPolicy: { enabled: true, days: 14 }
    containerDeleteRetentionPolicy: { enabled: true, days: 14 }
  }
}

// Flex Consumption runs the app from the package azd uploads here.
resource packages 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: packageContainer
  properties: { publicAccess: 'None' }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

// ---------------------------------------------------------------- Key Vault

// RBAC only, no access policies; reachable only through its private endpoint. Secrets and keys
// below are written by the deployment through Azure Resource Manager, which the firewall does
// not stand in the way of.
resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: '${name}-kv-${take(token, 6)}'
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: 'premium' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Disabled'
    networkAcls: {
      defaultAction: 'Deny'
      bypass: 'AzureServices'
    }
  }
}

// The key that wraps each tenant's snapshot data key (DESIGN §12): HSM-backed, used only to
// wrap and unwrap, a new version every year. An expired version still unwraps what it wrapped.
resource kek 'Microsoft.KeyVault/vaults/keys@2023-07-01' = {
  parent: vault
  name: 'snapshot-kek'
  properties: {
    kty: 'RSA-HSM'
    keySize: 3072
    keyOps: ['wrapKey', 'unwrapKey']
    attributes: {
      enabled: true
      exp: dateTimeToEpoch(dateTimeAdd(deployedAt, 'P2Y'))
    }
    rotationPolicy: {
      attributes: { expiryTime: 'P2Y' }
      lifetimeActions: [
        {
          trigger: { timeAfterCreate: 'P1Y' }
          action: { type: 'rotate' }
        }
        {
          trigger: { timeBeforeExpiry: 'P30D' }
          action: { type: 'notify' }
        }
      ]
    }
  }
}

// Entra client secrets live at most two years; the vault's copy says so.
resource graphSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(graphClientSecret)) {
  // checkov:skip=CKV_AZURE_41: exp is set below; checkov does not read the properties of a conditional resource
  // checkov:skip=CKV_AZURE_114: contentType is set below; checkov does not read the properties of a conditional resource
  parent: vault
  name: 'graph-client-secret'
  properties: {
    value: graphClientSecret
    contentType: 'text/plain'
    attributes: {
      enabled: true
      exp: dateTimeToEpoch(dateTimeAdd(deployedAt, 'P2Y'))
    }
  }
}

// ---------------------------------------------------------------- private endpoints

var endpoints = [
  { name: 'blob', target: storage.id, group: 'blob', zone: 'privatelink.blob.${storageSuffix}' }
  { name: 'queue', target: storage.id, group: 'queue', zone: 'privatelink.queue.${storageSuffix}' }
  { name: 'table', target: storage.id, group: 'table', zone: 'privatelink.table.${storageSuffix}' }
  // Azure public cloud's zone for Key Vault (other clouds name theirs differently).
  { name: 'vault', target: vault.id, group: 'vault', zone: 'privatelink.vaultcore.azure.net' }
]

resource zones 'Microsoft.Network/privateDnsZones@2020-06-01' = [for e in endpoints: {
  name: e.zone
  location: 'global'
  tags: tags
}]

resource zoneLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2020-06-01' = [for (e, i) in endpoints: {
  parent: zones[i]
  name: '${name}-vnet'
  location: 'global'
  tags: tags
  properties: {
    registrationEnabled: false
    virtualNetwork: { id: vnet.id }
  }
}]

resource privateEndpoints 'Microsoft.Network/privateEndpoints@2024-05-01' = [for e in endpoints: {
  name: '${name}-pe-${e.name}'
  location: location
  tags: tags
  properties: {
    subnet: { id: vnet.properties.subnets[1].id }
    privateLinkServiceConnections: [
      {
        name: e.name
        properties: {
          privateLinkServiceId: e.target
          groupIds: [e.group]
        }
      }
    ]
  }
}]

resource zoneGroups 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2024-05-01' = [for (e, i) in endpoints: {
  parent: privateEndpoints[i]
  name: 'default'
  properties: {
    privateDnsZoneConfigs: [
      {
        name: e.name
        properties: { privateDnsZoneId: zones[i].id }
      }
    ]
  }
}]

// ---------------------------------------------------------------- roles of the app's identity

// Blob Data Owner, not Contributor: the Durable Task extension takes blob leases, and the same
// role lets Flex Consumption read and write the deployment package container.
resource blobRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, roles.storageBlobDataOwner)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource queueRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, roles.storageQueueDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource tableRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, roles.storageTableDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// Reads the Graph credential (a Key Vault reference in the app settings).
resource secretsRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, identity.id, roles.keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// Wraps and unwraps with the key-encryption key, and only that key.
resource cryptoRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(kek.id, identity.id, roles.keyVaultCryptoUser)
  scope: kek
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultCryptoUser)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// Sends telemetry with an Entra token (APPLICATIONINSIGHTS_AUTHENTICATION_STRING).
resource telemetryRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(insights.id, identity.id, roles.monitoringMetricsPublisher)
  scope: insights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// ---------------------------------------------------------------- the app

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: '${name}-plan'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
    zoneRedundant: zoneRedundant // checkov:skip=CKV_AZURE_225: a parameter (zoneRedundant), off by default because Flex Consumption offers zone redundancy in some regions only; turn it on where offered
  }
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_222: the HTTP API is the product's interface for portals, Logic Apps and timers outside this network; callers present Entra bearer tokens validated in code (DESIGN §3). Front it with API Management or Front Door to close it
  // checkov:skip=CKV_AZURE_17: callers authenticate with Entra bearer tokens; requiring client certificates would shut out Logic Apps and portals, which do not present one
  // checkov:skip=CKV_AZURE_212: Flex Consumption has no fixed worker count to fail over between; it scales each function group on demand, and alwaysReadyDurable/alwaysReadyHttp keep warm instances
  // checkov:skip=CKV_AZURE_213: App Service's instance health check acts on a fixed pool of instances, which Flex Consumption does not have; GET /api/health serves an Application Insights availability test instead
  name: '${name}-func-${take(token, 6)}'
  location: location
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identity.id}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identity.id
    virtualNetworkSubnetId: vnet.properties.subnets[0].id
    publicNetworkAccess: 'Enabled'
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${packageContainer}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identity.id
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
        // Per-function scaling puts every orchestrator and activity in the 'durable' group and
        // every HTTP function in 'http' (learn.microsoft.com/azure/azure-functions/flex-consumption-plan).
        alwaysReady: [
          {
            name: 'durable'
            instanceCount: alwaysReadyDurable
          }
          {
            name: 'http'
            instanceCount: alwaysReadyHttp
          }
        ]
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      // The configuration of DESIGN §2, and only settings Flex Consumption honours (no
      // FUNCTIONS_WORKER_RUNTIME, FUNCTIONS_EXTENSION_VERSION or WEBSITE_* deployment settings).
      appSettings: [
        // Identity-based storage for the host, Durable Functions and the app's own clients.
        {
          name: 'AzureWebJobsStorage__accountName'
          value: storage.name
        }
        {
          name: 'AzureWebJobsStorage__blobServiceUri'
          value: 'https://${storage.name}.blob.${storageSuffix}'
        }
        {
          name: 'AzureWebJobsStorage__queueServiceUri'
          value: 'https://${storage.name}.queue.${storageSuffix}'
        }
        {
          name: 'AzureWebJobsStorage__tableServiceUri'
          value: 'https://${storage.name}.table.${storageSuffix}'
        }
        {
          name: 'AzureWebJobsStorage__credential'
          value: 'managedidentity'
        }
        {
          name: 'AzureWebJobsStorage__clientId'
          value: identity.properties.clientId
        }
        // DefaultAzureCredential (Key Vault, storage) picks the user-assigned identity.
        {
          name: 'AZURE_CLIENT_ID'
          value: identity.properties.clientId
        }
        {
          name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
          value: insights.properties.ConnectionString
        }
        {
          name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
          value: 'ClientId=${identity.properties.clientId};Authorization=AAD'
        }
        // The Python worker configures the Azure Monitor OpenTelemetry distro itself (host.json
        // telemetryMode OpenTelemetry); log records' run_id, tenant_id and invocation_id
        // attributes become customDimensions. The exporter authenticates with the string above.
        {
          name: 'PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY'
          value: 'true'
        }
        {
          // Not empty: the webhook queue trigger's name is %PV_STORAGE_PREFIX%webhook-deliveries,
          // and the host cannot resolve a %setting% that has no value.
          name: 'PV_STORAGE_PREFIX'
          value: 'pv'
        }
        {
          name: 'PV_KEY_VAULT_KEY_ID'
          value: kek.properties.keyUri
        }
        {
          name: 'GRAPH_BASE_URL'
          value: 'https://graph.microsoft.com'
        }
        {
          name: 'ENTRA_AUTHORITY_HOST'
          value: 'https://login.microsoftonline.com'
        }
        {
          name: 'GRAPH_CLIENT_ID'
          value: graphClientId
        }
        {
          name: 'GRAPH_CLIENT_SECRET'
          value: '@Microsoft.KeyVault(SecretUri=${vault.properties.vaultUri}secrets/graph-client-secret/)'
        }
        {
          name: 'API_AUTH_ISSUER'
          value: apiAuthIssuer
        }
        {
          name: 'API_AUTH_AUDIENCE'
          value: apiAuthAudience
        }
        {
          name: 'API_AUTH_JWKS_URL'
          value: apiAuthJwksUrl
        }
        {
          name: 'PORTAL_BASE_URL'
          value: portalBaseUrl
        }
      ]
    }
  }
  dependsOn: [
    packages
    blobRole
    queueRole
    tableRole
    secretsRole
    cryptoRole
    telemetryRole
    zoneGroups
  ]
}

output functionAppName string = app.name
output apiBaseUrl string = 'https://${app.properties.defaultHostName}/api'
output keyVaultName string = vault.name
output keyEncryptionKeyId string = kek.properties.keyUri
output storageAccountName string = storage.name
output egressIpAddress string = egressAddress.properties.ipAddress
output identityClientId string = identity.properties.clientId
