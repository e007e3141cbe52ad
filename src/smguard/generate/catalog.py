"""What every CloudTrail event the generator can emit looks like, as data.

Each entry maps ``"<service>:<EventName>"`` to the record shape CloudTrail writes for that
API: request parameters (API names, first letter lower-case), response elements, the
``resources`` list where CloudTrail fills one, ``additionalEventData``, and the fixed
record fields (readOnly, eventCategory, eventType, eventVersion, region for global
services). Keeping the shapes in one table means adding an event is one entry, not new
code, and the baseline and the scenarios share exactly the same shapes.

Templates are plain JSON-like values. A string that is exactly ``"$var"`` is replaced
by the context value (any type); ``"${var}"`` inside a longer string is interpolated.
The context (see :mod:`smguard.generate.context`) holds the baseline entities picked for
one call (notebook, bucket, key, role, ...).

``required`` lists the request parameters a scenario step must state itself: the ones
that say *what* the call acts on, so a multi-step scenario never silently acts on a
random baseline resource. ``binds`` maps a context variable to the request parameter
that sets it, so a scenario that names ``notebookInstanceName`` also gets the matching
ARN in the response.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class EventSpec:
    """The shape of one CloudTrail event name."""

    key: str
    source: str
    name: str
    read_only: bool
    request: Any = None
    response: Any = None
    resources: Any = None
    additional: Any = None
    required: tuple[str, ...] = ()
    binds: dict[str, str] = field(default_factory=dict)
    category: str = "Management"
    event_type: str = "AwsApiCall"
    global_region: str | None = None
    request_id: str = "uuid"  # "uuid" or "s3" (16 upper-case alphanumerics)
    version: str = "1.08"
    host: str | None = None  # clientProvidedHostHeader template; None: no tlsDetails

    @property
    def service(self) -> str:
        return self.key.split(":", 1)[0]

    @property
    def is_data(self) -> bool:
        return self.category == "Data"


# Host headers per service (CloudTrail's tlsDetails.clientProvidedHostHeader).
HOSTS: dict[str, str] = {
    "sagemaker": "api.sagemaker.${region}.amazonaws.com",
    "s3": "${bucket}.s3.${region}.amazonaws.com",
    "iam": "iam.amazonaws.com",
    "kms": "kms.${region}.amazonaws.com",
    "cloudtrail": "cloudtrail.${region}.amazonaws.com",
    "guardduty": "guardduty.${region}.amazonaws.com",
    "macie2": "macie2.${region}.amazonaws.com",
    "detective": "api.detective.${region}.amazonaws.com",
    "logs": "logs.${region}.amazonaws.com",
    "ec2": "ec2.${region}.amazonaws.com",
    "secretsmanager": "secretsmanager.${region}.amazonaws.com",
    "organizations": "organizations.us-east-1.amazonaws.com",
    "servicequotas": "servicequotas.${region}.amazonaws.com",
    "sts": "sts.${region}.amazonaws.com",
    "apigateway": "apigateway.${region}.amazonaws.com",
    "budgets": "budgets.amazonaws.com",
    "signin": "signin.aws.amazon.com",  # what AWS writes on ConsoleLogin (Stratus capture)
}

SOURCES: dict[str, str] = {
    "sagemaker": "sagemaker.amazonaws.com",
    "s3": "s3.amazonaws.com",
    "iam": "iam.amazonaws.com",
    "kms": "kms.amazonaws.com",
    "cloudtrail": "cloudtrail.amazonaws.com",
    "guardduty": "guardduty.amazonaws.com",
    "macie2": "macie2.amazonaws.com",
    "detective": "detective.amazonaws.com",
    "logs": "logs.amazonaws.com",
    "ec2": "ec2.amazonaws.com",
    "secretsmanager": "secretsmanager.amazonaws.com",
    "organizations": "organizations.amazonaws.com",
    "servicequotas": "servicequotas.amazonaws.com",
    "signin": "signin.amazonaws.com",
    "sts": "sts.amazonaws.com",
    "apigateway": "apigateway.amazonaws.com",
    "budgets": "budgets.amazonaws.com",
}

# eventVersion as the service writes it (CloudTrail moves services up at their own pace):
# where the real captures (tests/data/corpus/stratus_detonation_logs, 2024) show a service,
# at least its version there; otherwise the current version of the record format, 1.11
# (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html).
CURRENT_VERSION = "1.11"
VERSIONS: dict[str, str] = {
    "s3": "1.10",
    "signin": "1.09",
    "ec2": "1.09",
    "cloudtrail": "1.10",
    "secretsmanager": "1.09",
    "sts": "1.08",
    "iam": "1.09",
}

# Services whose AssumedRole records carry ``sessionContext.webIdFederationData: {}`` (the real
# captures show it on STS calls and not on EC2, IAM, Bedrock, Organizations... calls).
WEB_ID_FEDERATION_SERVICES = frozenset({"sts"})

# Where global services log.
GLOBAL_REGION: dict[str, str] = {"iam": "us-east-1", "organizations": "us-east-1", "signin": "us-east-1", "budgets": "us-east-1"}

# How each service words a denial and throttling: (errorCode, errorMessage template).
# ``${caller}`` is the caller ARN, ``${action}`` e.g. sagemaker:CreateNotebookInstance,
# ``${resource}`` the resource ARN of the call.
_NOT_AUTH = (
    "User: ${caller} is not authorized to perform: ${action} on resource: ${resource} "
    "because no identity-based policy allows the ${action} action"
)
DENIED: dict[str, tuple[str, str]] = {
    "default": ("AccessDenied", _NOT_AUTH),
    "s3": ("AccessDenied", "Access Denied"),
    "ec2": (
        "Client.UnauthorizedOperation",
        "You are not authorized to perform this operation. User: ${caller} is not authorized to perform: "
        "${action} on resource: ${resource} because no identity-based policy allows the ${action} action.",
    ),
    "guardduty": ("AccessDeniedException", _NOT_AUTH),
    "macie2": ("AccessDeniedException", _NOT_AUTH),
    "detective": ("AccessDeniedException", _NOT_AUTH),
    "servicequotas": ("AccessDeniedException", _NOT_AUTH),
    "sagemaker": ("AccessDenied", _NOT_AUTH),
    "logs": ("AccessDenied", _NOT_AUTH),
    "secretsmanager": ("AccessDenied", _NOT_AUTH),
    "apigateway": ("AccessDeniedException", _NOT_AUTH),
    "budgets": ("AccessDeniedException", _NOT_AUTH),
}
SCP_DENIED = (
    "AccessDenied",
    "User: ${caller} is not authorized to perform: ${action} on resource: ${resource} "
    "with an explicit deny in a service control policy",
)
THROTTLED: dict[str, tuple[str, str]] = {
    "default": ("ThrottlingException", "Rate exceeded"),
    "iam": ("Throttling", "Rate exceeded"),
    "ec2": ("Client.RequestLimitExceeded", "Request limit exceeded."),
    "s3": ("SlowDown", "Please reduce your request rate."),
    "apigateway": ("TooManyRequestsException", "Too Many Requests"),
}
VALIDATION: dict[str, tuple[str, str]] = {
    "default": ("ValidationException", "1 validation error detected: Value at '${param}' failed to satisfy constraint"),
    "sagemaker": ("ValidationException", "Could not find ${kind} \"${name}\"."),
    "iam": ("NoSuchEntityException", "The role with name ${role_name} cannot be found."),
    "ec2": ("Client.InvalidParameterValue", "Value for parameter is invalid."),
    "s3": ("NoSuchBucketPolicy", "The bucket policy does not exist"),
}

_TAGS = [{"key": "Project", "value": "$project"}, {"key": "Environment", "value": "$environment"}]
_NB_ARN = "arn:aws:sagemaker:${region}:${account}:notebook-instance/${notebook}"
_VPC = {"securityGroupIds": ["$sg_id"], "subnets": ["$subnet_id"]}

_E: dict[str, dict[str, Any]] = {
    # ---------------------------------------------------------------- SageMaker
    "sagemaker:CreateNotebookInstance": dict(
        ro=False,
        request={
            "notebookInstanceName": "$notebook",
            "instanceType": "$nb_instance_type",
            "subnetId": "$subnet_id",
            "securityGroupIds": ["$sg_id"],
            "roleArn": "$exec_role_arn",
            "kmsKeyId": "$kms_key_id",
            "tags": _TAGS,
            "lifecycleConfigName": "$lcc",
            "directInternetAccess": "Disabled",
            "volumeSizeInGB": 20,
            "rootAccess": "Disabled",
            "instanceMetadataServiceConfiguration": {"minimumInstanceMetadataServiceVersion": "2"},
        },
        response={"notebookInstanceArn": _NB_ARN},
        required=("notebookInstanceName", "instanceType", "roleArn"),
        binds={"notebook": "notebookInstanceName", "exec_role_arn": "roleArn"},
    ),
    "sagemaker:UpdateNotebookInstance": dict(
        ro=False,
        request={"notebookInstanceName": "$notebook", "instanceType": "$nb_instance_type"},
        response=None,
        required=("notebookInstanceName",),
        binds={"notebook": "notebookInstanceName"},
    ),
    "sagemaker:StartNotebookInstance": dict(
        ro=False, request={"notebookInstanceName": "$notebook"}, required=("notebookInstanceName",),
        binds={"notebook": "notebookInstanceName"},
    ),
    "sagemaker:StopNotebookInstance": dict(
        ro=False, request={"notebookInstanceName": "$notebook"}, required=("notebookInstanceName",),
        binds={"notebook": "notebookInstanceName"},
    ),
    "sagemaker:DeleteNotebookInstance": dict(
        ro=False, request={"notebookInstanceName": "$notebook"}, required=("notebookInstanceName",),
        binds={"notebook": "notebookInstanceName"},
    ),
    "sagemaker:CreatePresignedNotebookInstanceUrl": dict(
        ro=False,
        request={"notebookInstanceName": "$notebook", "sessionExpirationDurationInSeconds": 1800},
        response=None,
        required=("notebookInstanceName",),
        binds={"notebook": "notebookInstanceName"},
    ),
    "sagemaker:CreatePresignedDomainUrl": dict(
        ro=False,
        request={"domainId": "$domain_id", "userProfileName": "$user_profile", "sessionExpirationDurationInSeconds": 43200},
        response=None,
        required=("domainId", "userProfileName"),
        binds={"domain_id": "domainId", "user_profile": "userProfileName"},
    ),
    "sagemaker:CreateNotebookInstanceLifecycleConfig": dict(
        ro=False,
        request={"notebookInstanceLifecycleConfigName": "$lcc", "onStart": [{"content": "$lcc_script"}]},
        response={"notebookInstanceLifecycleConfigArn": "arn:aws:sagemaker:${region}:${account}:notebook-instance-lifecycle-config/${lcc}"},
        required=("notebookInstanceLifecycleConfigName",),
        binds={"lcc": "notebookInstanceLifecycleConfigName"},
    ),
    "sagemaker:UpdateNotebookInstanceLifecycleConfig": dict(
        ro=False,
        request={"notebookInstanceLifecycleConfigName": "$lcc", "onStart": [{"content": "$lcc_script"}]},
        required=("notebookInstanceLifecycleConfigName",),
        binds={"lcc": "notebookInstanceLifecycleConfigName"},
    ),
    "sagemaker:CreateDomain": dict(
        ro=False,
        request={
            "domainName": "$domain_name",
            "authMode": "SSO",
            "defaultUserSettings": {"executionRole": "$exec_role_arn", "securityGroups": ["$sg_id"]},
            "subnetIds": ["$subnet_id"],
            "vpcId": "$vpc_id",
            "appNetworkAccessType": "VpcOnly",
            "kmsKeyId": "$kms_key_id",
            "tags": _TAGS,
        },
        response={"domainArn": "arn:aws:sagemaker:${region}:${account}:domain/${domain_id}", "url": "https://${domain_id}.studio.${region}.sagemaker.aws"},
        required=("domainName", "authMode"),
        binds={"domain_name": "domainName"},
    ),
    "sagemaker:UpdateDomain": dict(
        ro=False,
        request={"domainId": "$domain_id", "defaultUserSettings": {"executionRole": "$exec_role_arn"}},
        response={"domainArn": "arn:aws:sagemaker:${region}:${account}:domain/${domain_id}"},
        required=("domainId",),
        binds={"domain_id": "domainId"},
    ),
    "sagemaker:CreateTrainingJob": dict(
        ro=False,
        request={
            "trainingJobName": "$training_job",
            "algorithmSpecification": {"trainingImage": "$training_image", "trainingInputMode": "File"},
            "roleArn": "$exec_role_arn",
            "inputDataConfig": [
                {"channelName": "train", "dataSource": {"s3DataSource": {"s3DataType": "S3Prefix", "s3Uri": "s3://${data_bucket}/datasets/${project}/train/", "s3DataDistributionType": "FullyReplicated"}}}
            ],
            "outputDataConfig": {"kmsKeyId": "$kms_key_id", "s3OutputPath": "s3://${artifact_bucket}/training-output/"},
            "resourceConfig": {"instanceType": "$training_instance_type", "instanceCount": 1, "volumeSizeInGB": 50, "volumeKmsKeyId": "$kms_key_id"},
            "vpcConfig": _VPC,
            "stoppingCondition": {"maxRuntimeInSeconds": 86400},
            "enableNetworkIsolation": True,
            "enableInterContainerTrafficEncryption": True,
            "tags": _TAGS,
        },
        response={"trainingJobArn": "arn:aws:sagemaker:${region}:${account}:training-job/${training_job}"},
        required=("trainingJobName", "roleArn"),
        binds={"training_job": "trainingJobName", "exec_role_arn": "roleArn"},
    ),
    "sagemaker:CreateHyperParameterTuningJob": dict(
        ro=False,
        request={
            "hyperParameterTuningJobName": "$tuning_job",
            "hyperParameterTuningJobConfig": {
                "strategy": "Bayesian",
                "hyperParameterTuningJobObjective": {"type": "Minimize", "metricName": "validation:rmse"},
                "resourceLimits": {"maxNumberOfTrainingJobs": 20, "maxParallelTrainingJobs": 2},
                "parameterRanges": {
                    "integerParameterRanges": [{"name": "max_depth", "minValue": "3", "maxValue": "10", "scalingType": "Auto"}],
                    "continuousParameterRanges": [{"name": "eta", "minValue": "0.01", "maxValue": "0.3", "scalingType": "Logarithmic"}],
                },
                "trainingJobEarlyStoppingType": "Auto",
            },
            "trainingJobDefinition": {
                "staticHyperParameters": {"objective": "reg:squarederror", "num_round": "200"},
                "algorithmSpecification": {"trainingImage": "$training_image", "trainingInputMode": "File"},
                "roleArn": "$exec_role_arn",
                "inputDataConfig": [
                    {"channelName": "train", "dataSource": {"s3DataSource": {"s3DataType": "S3Prefix", "s3Uri": "s3://${data_bucket}/datasets/${project}/train/", "s3DataDistributionType": "FullyReplicated"}}},
                    {"channelName": "validation", "dataSource": {"s3DataSource": {"s3DataType": "S3Prefix", "s3Uri": "s3://${data_bucket}/datasets/${project}/validation/", "s3DataDistributionType": "FullyReplicated"}}},
                ],
                "vpcConfig": _VPC,
                "outputDataConfig": {"kmsKeyId": "$kms_key_id", "s3OutputPath": "s3://${artifact_bucket}/tuning-output/"},
                "resourceConfig": {"instanceType": "$training_instance_type", "instanceCount": 1, "volumeSizeInGB": 50, "volumeKmsKeyId": "$kms_key_id"},
                "stoppingCondition": {"maxRuntimeInSeconds": 14400},
                "enableNetworkIsolation": True,
                "enableInterContainerTrafficEncryption": True,
            },
            "tags": _TAGS,
        },
        response={"hyperParameterTuningJobArn": "arn:aws:sagemaker:${region}:${account}:hyper-parameter-tuning-job/${tuning_job}"},
        required=("hyperParameterTuningJobName",),
        binds={"tuning_job": "hyperParameterTuningJobName"},
    ),
    "sagemaker:CreateProcessingJob": dict(
        ro=False,
        request={
            "processingJobName": "$processing_job",
            "processingResources": {"clusterConfig": {"instanceCount": 1, "instanceType": "$training_instance_type", "volumeSizeInGB": 30, "volumeKmsKeyId": "$kms_key_id"}},
            "appSpecification": {"imageUri": "$training_image"},
            "roleArn": "$exec_role_arn",
            "processingOutputConfig": {"outputs": [{"outputName": "output", "s3Output": {"s3Uri": "s3://${artifact_bucket}/processing/${processing_job}/", "localPath": "/opt/ml/processing/output", "s3UploadMode": "EndOfJob"}}], "kmsKeyId": "$kms_key_id"},
            "networkConfig": {"enableInterContainerTrafficEncryption": True, "enableNetworkIsolation": True, "vpcConfig": _VPC},
            "tags": _TAGS,
        },
        response={"processingJobArn": "arn:aws:sagemaker:${region}:${account}:processing-job/${processing_job}"},
        required=("processingJobName", "roleArn"),
        binds={"processing_job": "processingJobName", "exec_role_arn": "roleArn"},
    ),
    "sagemaker:CreateModel": dict(
        ro=False,
        request={
            "modelName": "$model",
            "primaryContainer": {"image": "$model_image", "modelDataUrl": "s3://${artifact_bucket}/models/${model}/model.tar.gz"},
            "executionRoleArn": "$inference_role_arn",
            "vpcConfig": _VPC,
            "enableNetworkIsolation": True,
            # name, image and tags name one project (the model's)
            "tags": [{"key": "Project", "value": "$model_project"}, {"key": "Environment", "value": "$environment"}],
        },
        response={"modelArn": "arn:aws:sagemaker:${region}:${account}:model/${model}"},
        required=("modelName",),
        binds={"model": "modelName"},
    ),
    "sagemaker:CreateEndpointConfig": dict(
        ro=False,
        request={
            "endpointConfigName": "$endpoint_config",
            "productionVariants": [{"variantName": "AllTraffic", "modelName": "$model", "initialInstanceCount": 1, "instanceType": "$endpoint_instance_type", "initialVariantWeight": 1.0}],
            "kmsKeyId": "$kms_key_id",
            "dataCaptureConfig": {"enableCapture": True, "initialSamplingPercentage": 20, "destinationS3Uri": "s3://${capture_bucket}/data-capture/", "kmsKeyId": "$kms_key_id", "captureOptions": [{"captureMode": "Input"}, {"captureMode": "Output"}]},
            "tags": _TAGS,
        },
        response={"endpointConfigArn": "arn:aws:sagemaker:${region}:${account}:endpoint-config/${endpoint_config}"},
        required=("endpointConfigName",),
        binds={"endpoint_config": "endpointConfigName"},
    ),
    "sagemaker:CreateEndpoint": dict(
        ro=False,
        request={"endpointName": "$endpoint", "endpointConfigName": "$endpoint_config", "tags": _TAGS},
        response={"endpointArn": "arn:aws:sagemaker:${region}:${account}:endpoint/${endpoint}"},
        required=("endpointName", "endpointConfigName"),
        binds={"endpoint": "endpointName", "endpoint_config": "endpointConfigName"},
    ),
    "sagemaker:UpdateEndpoint": dict(
        ro=False,
        request={"endpointName": "$endpoint", "endpointConfigName": "$endpoint_config"},
        response={"endpointArn": "arn:aws:sagemaker:${region}:${account}:endpoint/${endpoint}"},
        required=("endpointName", "endpointConfigName"),
        binds={"endpoint": "endpointName", "endpoint_config": "endpointConfigName"},
    ),
    "sagemaker:UpdateEndpointWeightsAndCapacities": dict(
        ro=False,
        request={"endpointName": "$endpoint", "desiredWeightsAndCapacities": [{"variantName": "AllTraffic", "desiredInstanceCount": 2}]},
        response={"endpointArn": "arn:aws:sagemaker:${region}:${account}:endpoint/${endpoint}"},
        required=("endpointName",),
        binds={"endpoint": "endpointName"},
    ),
    "sagemaker:DeleteEndpoint": dict(
        ro=False, request={"endpointName": "$endpoint"}, required=("endpointName",), binds={"endpoint": "endpointName"},
    ),
    # Newer SageMaker APIs (request members as in the SageMaker API reference, first letter
    # lower-case as CloudTrail records them): MLflow tracking servers, inference components,
    # HyperPod clusters. Not in the baseline's mix; scenarios may call them.
    "sagemaker:CreateMlflowTrackingServer": dict(
        ro=False,
        request={"trackingServerName": "${project}-mlflow", "artifactStoreUri": "s3://${artifact_bucket}/mlflow/${project}/",
                 "trackingServerSize": "Small", "mlflowVersion": "2.16.2", "roleArn": "$exec_role_arn",
                 "automaticModelRegistration": False, "tags": _TAGS},
        response={"trackingServerArn": "arn:aws:sagemaker:${region}:${account}:mlflow-tracking-server/${project}-mlflow"},
        required=("trackingServerName", "artifactStoreUri", "roleArn"),
    ),
    "sagemaker:DeleteMlflowTrackingServer": dict(
        ro=False, request={"trackingServerName": "${project}-mlflow"},
        response={"trackingServerArn": "arn:aws:sagemaker:${region}:${account}:mlflow-tracking-server/${project}-mlflow"},
        required=("trackingServerName",),
    ),
    "sagemaker:CreateInferenceComponent": dict(
        ro=False,
        request={"inferenceComponentName": "${model}-ic", "endpointName": "$endpoint", "variantName": "AllTraffic",
                 "specification": {"modelName": "$model",
                                   "computeResourceRequirements": {"numberOfCpuCoresRequired": 2, "minMemoryRequiredInMb": 4096}},
                 "runtimeConfig": {"copyCount": 1}, "tags": _TAGS},
        response={"inferenceComponentArn": "arn:aws:sagemaker:${region}:${account}:inference-component/${model}-ic"},
        required=("inferenceComponentName", "endpointName", "specification"),
        binds={"endpoint": "endpointName"},
    ),
    "sagemaker:DeleteInferenceComponent": dict(
        ro=False, request={"inferenceComponentName": "${model}-ic"}, required=("inferenceComponentName",),
    ),
    "sagemaker:CreateCluster": dict(
        ro=False,
        request={"clusterName": "$cluster_name",
                 "instanceGroups": [{"instanceGroupName": "workers", "instanceType": "$training_instance_type", "instanceCount": 2,
                                     "lifeCycleConfig": {"sourceS3Uri": "s3://${artifact_bucket}/hyperpod/lifecycle/",
                                                         "onCreate": "on_create.sh"},
                                     "executionRole": "$training_role_arn", "threadsPerCore": 1}],
                 "vpcConfig": _VPC, "tags": _TAGS},
        response={"clusterArn": "arn:aws:sagemaker:${region}:${account}:cluster/${cluster_id}"},
        required=("clusterName", "instanceGroups"),
        binds={"cluster_name": "clusterName"},
    ),
    "sagemaker:DeleteCluster": dict(
        ro=False, request={"clusterName": "$cluster_name"},
        response={"clusterArn": "arn:aws:sagemaker:${region}:${account}:cluster/${cluster_id}"},
        required=("clusterName",), binds={"cluster_name": "clusterName"},
    ),
    "sagemaker:AddTags": dict(
        ro=False,
        request={"resourceArn": "arn:aws:sagemaker:${region}:${account}:endpoint/${endpoint}", "tags": [{"key": "CostCentre", "value": "$cost_centre"}]},
        response={"tags": [{"key": "CostCentre", "value": "$cost_centre"}]},
        required=("resourceArn",),
    ),
    "sagemaker:DeleteTags": dict(
        ro=False,
        request={"resourceArn": "arn:aws:sagemaker:${region}:${account}:endpoint/${endpoint}", "tagKeys": ["CostCentre"]},
        required=("resourceArn", "tagKeys"),
    ),
    "sagemaker:DescribeNotebookInstance": dict(ro=True, request={"notebookInstanceName": "$notebook"}, binds={"notebook": "notebookInstanceName"}),
    "sagemaker:ListNotebookInstances": dict(ro=True, request={"maxResults": 100, "sortBy": "CreationTime", "sortOrder": "Descending"}),
    "sagemaker:DescribeNotebookInstanceLifecycleConfig": dict(ro=True, request={"notebookInstanceLifecycleConfigName": "$lcc"}),
    "sagemaker:ListNotebookInstanceLifecycleConfigs": dict(ro=True, request={"maxResults": 50}),
    "sagemaker:DescribeTrainingJob": dict(ro=True, request={"trainingJobName": "$training_job"}),
    "sagemaker:ListTrainingJobs": dict(ro=True, request={"maxResults": 20, "sortBy": "CreationTime", "sortOrder": "Descending"}),
    "sagemaker:DescribeProcessingJob": dict(ro=True, request={"processingJobName": "$processing_job"}),
    "sagemaker:ListProcessingJobs": dict(ro=True, request={"maxResults": 20}),
    "sagemaker:DescribeModel": dict(ro=True, request={"modelName": "$model"}),
    "sagemaker:ListModels": dict(ro=True, request={"maxResults": 50}),
    "sagemaker:DescribeEndpoint": dict(ro=True, request={"endpointName": "$endpoint"}),
    "sagemaker:ListEndpoints": dict(ro=True, request={"maxResults": 50, "sortBy": "CreationTime"}),
    "sagemaker:DescribeEndpointConfig": dict(ro=True, request={"endpointConfigName": "$endpoint_config"}),
    "sagemaker:ListEndpointConfigs": dict(ro=True, request={"maxResults": 50}),
    "sagemaker:DescribeDomain": dict(ro=True, request={"domainId": "$domain_id"}),
    "sagemaker:ListDomains": dict(ro=True, request={"maxResults": 20}),
    "sagemaker:ListUserProfiles": dict(ro=True, request={"domainIdEquals": "$domain_id"}),
    "sagemaker:ListTags": dict(ro=True, request={"resourceArn": "arn:aws:sagemaker:${region}:${account}:endpoint/${endpoint}"}),
    # ---------------------------------------------------------------- S3
    "s3:GetObject": dict(
        ro=True, category="Data", rid="s3",
        request={"bucketName": "$bucket", "Host": "${bucket}.s3.${region}.amazonaws.com", "key": "$object_key"},
        additional={"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256", "bytesTransferredIn": 0, "AuthenticationMethod": "AuthHeader", "x-amz-id-2": "$amz_id2", "bytesTransferredOut": "$bytes_out"},
        resources=[{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::${bucket}/${object_key}"}, {"accountId": "$account", "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::${bucket}"}],
        required=("bucketName", "key"),
        binds={"bucket": "bucketName", "object_key": "key"},
    ),
    "s3:PutObject": dict(
        ro=False, category="Data", rid="s3",
        request={"bucketName": "$bucket", "Host": "${bucket}.s3.${region}.amazonaws.com", "key": "$object_key", "x-amz-server-side-encryption": "aws:kms", "x-amz-server-side-encryption-aws-kms-key-id": "$kms_key_arn"},
        response={"x-amz-server-side-encryption": "aws:kms", "x-amz-server-side-encryption-aws-kms-key-id": "$kms_key_arn"},
        additional={"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256", "bytesTransferredIn": "$bytes_in", "SSEApplied": "SSE_KMS", "AuthenticationMethod": "AuthHeader", "x-amz-id-2": "$amz_id2", "bytesTransferredOut": 0},
        resources=[{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::${bucket}/${object_key}"}, {"accountId": "$account", "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::${bucket}"}],
        required=("bucketName", "key"),
        binds={"bucket": "bucketName", "object_key": "key"},
    ),
    "s3:CopyObject": dict(
        ro=False, category="Data", rid="s3",
        request={"bucketName": "$bucket", "Host": "${bucket}.s3.${region}.amazonaws.com", "key": "$object_key", "x-amz-copy-source": "${source_bucket}/${object_key}", "x-amz-server-side-encryption": "aws:kms"},
        response={"x-amz-server-side-encryption": "aws:kms"},
        additional={"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256", "bytesTransferredIn": 0, "SSEApplied": "SSE_KMS", "AuthenticationMethod": "AuthHeader", "x-amz-id-2": "$amz_id2", "bytesTransferredOut": 234},
        resources=[
            {"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::${source_bucket}/${object_key}"},
            {"accountId": "$account", "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::${source_bucket}"},
            {"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::${bucket}/${object_key}"},
            {"accountId": "$account", "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::${bucket}"},
        ],
        required=("bucketName", "key", "x-amz-copy-source"),
        binds={"bucket": "bucketName", "object_key": "key"},
    ),
    "s3:UploadPartCopy": dict(
        # one part of a multipart copy (large model artifacts): a data event like CopyObject
        ro=False, category="Data", rid="s3",
        request={"bucketName": "$bucket", "Host": "${bucket}.s3.${region}.amazonaws.com", "key": "$object_key", "partNumber": "$part_number",
                 "uploadId": "$upload_id", "x-amz-copy-source": "${source_bucket}/${object_key}"},
        response={"x-amz-server-side-encryption": "aws:kms", "x-amz-server-side-encryption-aws-kms-key-id": "$kms_key_arn"},
        additional={"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256", "bytesTransferredIn": 0, "SSEApplied": "SSE_KMS", "AuthenticationMethod": "AuthHeader", "x-amz-id-2": "$amz_id2", "bytesTransferredOut": 234},
        resources=[
            {"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::${source_bucket}/${object_key}"},
            {"accountId": "$account", "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::${source_bucket}"},
            {"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::${bucket}/${object_key}"},
            {"accountId": "$account", "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::${bucket}"},
        ],
        required=("bucketName", "key", "x-amz-copy-source"),
        binds={"bucket": "bucketName", "object_key": "key"},
    ),
    "s3:PutBucketAcl": dict(
        # the ACL as CloudTrail turns the XML body into JSON: one <Grant> is an object, several a list
        ro=False, rid="s3",
        request={"bucketName": "$bucket", "Host": "${bucket}.s3.${region}.amazonaws.com", "acl": "",
                 "AccessControlPolicy": {
                     "AccessControlList": {"Grant": {"Grantee": {"xsi:type": "CanonicalUser", "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance", "ID": "$canonical_id"},
                                                     "Permission": "FULL_CONTROL"}},
                     "xmlns": "http://s3.amazonaws.com/doc/2006-03-01/",
                     "Owner": {"ID": "$canonical_id"}}},
        additional={"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256", "bytesTransferredIn": 0, "AuthenticationMethod": "AuthHeader", "x-amz-id-2": "$amz_id2", "bytesTransferredOut": 0},
        resources=[{"accountId": "$account", "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::${bucket}"}],
        required=("bucketName",),
        binds={"bucket": "bucketName"},
    ),
    "s3:ListObjects": dict(
        ro=True, category="Data", rid="s3",
        request={"bucketName": "$bucket", "Host": "${bucket}.s3.${region}.amazonaws.com", "list-type": "2", "prefix": "datasets/", "delimiter": "/"},
        additional={"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256", "bytesTransferredIn": 0, "AuthenticationMethod": "AuthHeader", "x-amz-id-2": "$amz_id2", "bytesTransferredOut": 4120},
        resources=[{"accountId": "$account", "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::${bucket}"}],
        binds={"bucket": "bucketName"},
    ),
    "s3:GetBucketPolicy": dict(
        ro=True, rid="s3",
        request={"bucketName": "$bucket", "Host": "${bucket}.s3.${region}.amazonaws.com", "policy": ""},
        additional={"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256", "bytesTransferredIn": 0, "AuthenticationMethod": "AuthHeader", "x-amz-id-2": "$amz_id2", "bytesTransferredOut": 0},
        resources=[{"accountId": "$account", "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::${bucket}"}],
        binds={"bucket": "bucketName"},
    ),
    "s3:GetBucketEncryption": dict(
        ro=True, rid="s3",
        request={"bucketName": "$bucket", "Host": "${bucket}.s3.${region}.amazonaws.com", "encryption": ""},
        additional={"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256", "bytesTransferredIn": 0, "AuthenticationMethod": "AuthHeader", "x-amz-id-2": "$amz_id2", "bytesTransferredOut": 0},
        resources=[{"accountId": "$account", "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::${bucket}"}],
        binds={"bucket": "bucketName"},
    ),
    "s3:PutBucketPolicy": dict(
        ro=False, rid="s3",
        request={"bucketPolicy": "$bucket_policy", "bucketName": "$bucket", "Host": "${bucket}.s3.${region}.amazonaws.com", "policy": ""},
        additional={"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256", "bytesTransferredIn": 0, "AuthenticationMethod": "AuthHeader", "x-amz-id-2": "$amz_id2", "bytesTransferredOut": 0},
        resources=[{"accountId": "$account", "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::${bucket}"}],
        required=("bucketName", "bucketPolicy"),
        binds={"bucket": "bucketName"},
    ),
    "s3:DeleteBucketPolicy": dict(
        ro=False, rid="s3",
        request={"bucketName": "$bucket", "Host": "${bucket}.s3.${region}.amazonaws.com", "policy": ""},
        additional={"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256", "bytesTransferredIn": 0, "AuthenticationMethod": "AuthHeader", "x-amz-id-2": "$amz_id2", "bytesTransferredOut": 0},
        resources=[{"accountId": "$account", "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::${bucket}"}],
        required=("bucketName",),
        binds={"bucket": "bucketName"},
    ),
    "s3:PutBucketPublicAccessBlock": dict(
        ro=False, rid="s3",
        request={"publicAccessBlock": "", "bucketName": "$bucket", "Host": "${bucket}.s3.${region}.amazonaws.com",
                 "PublicAccessBlockConfiguration": {"xmlns": "http://s3.amazonaws.com/doc/2006-03-01/", "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}},
        additional={"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256", "bytesTransferredIn": 0, "AuthenticationMethod": "AuthHeader", "x-amz-id-2": "$amz_id2", "bytesTransferredOut": 0},
        resources=[{"accountId": "$account", "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::${bucket}"}],
        required=("bucketName",),
        binds={"bucket": "bucketName"},
    ),
    "s3:DeleteBucketPublicAccessBlock": dict(
        ro=False, rid="s3",
        request={"publicAccessBlock": "", "bucketName": "$bucket", "Host": "${bucket}.s3.${region}.amazonaws.com"},
        additional={"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256", "bytesTransferredIn": 0, "AuthenticationMethod": "AuthHeader", "x-amz-id-2": "$amz_id2", "bytesTransferredOut": 0},
        resources=[{"accountId": "$account", "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::${bucket}"}],
        required=("bucketName",),
        binds={"bucket": "bucketName"},
    ),
    "s3:PutBucketVersioning": dict(
        ro=False, rid="s3",
        request={"bucketName": "$bucket", "Host": "${bucket}.s3.${region}.amazonaws.com", "versioning": "",
                 "VersioningConfiguration": {"Status": "Enabled", "xmlns": "http://s3.amazonaws.com/doc/2006-03-01/"}},
        additional={"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256", "bytesTransferredIn": 0, "AuthenticationMethod": "AuthHeader", "x-amz-id-2": "$amz_id2", "bytesTransferredOut": 0},
        resources=[{"accountId": "$account", "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::${bucket}"}],
        required=("bucketName",),
        binds={"bucket": "bucketName"},
    ),
    "s3:PutBucketLifecycle": dict(
        ro=False, rid="s3",
        request={"bucketName": "$bucket", "Host": "${bucket}.s3.${region}.amazonaws.com", "lifecycle": "",
                 "LifecycleConfiguration": {"xmlns": "http://s3.amazonaws.com/doc/2006-03-01/",
                                            "Rule": {"ID": "expire-old-captures", "Status": "Enabled", "Filter": {"Prefix": "data-capture/"}, "Expiration": {"Days": 365}}}},
        additional={"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256", "bytesTransferredIn": 0, "AuthenticationMethod": "AuthHeader", "x-amz-id-2": "$amz_id2", "bytesTransferredOut": 0},
        resources=[{"accountId": "$account", "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::${bucket}"}],
        required=("bucketName",),
        binds={"bucket": "bucketName"},
    ),
    # ---------------------------------------------------------------- IAM
    "iam:PutRolePolicy": dict(
        ro=False,
        request={"roleName": "$role_name", "policyName": "$policy_name", "policyDocument": "$policy_document"},
        required=("roleName", "policyName", "policyDocument"),
        binds={"role_name": "roleName"},
    ),
    "iam:AttachRolePolicy": dict(
        ro=False,
        request={"roleName": "$role_name", "policyArn": "$policy_arn"},
        required=("roleName", "policyArn"),
        binds={"role_name": "roleName"},
    ),
    "iam:CreatePolicyVersion": dict(
        ro=False,
        request={"policyArn": "$policy_arn", "policyDocument": "$policy_document", "setAsDefault": True},
        response={"policyVersion": {"versionId": "v${policy_version}", "isDefaultVersion": True, "createDate": "$date_mdy"}},
        required=("policyArn", "policyDocument"),
    ),
    "iam:UpdateAssumeRolePolicy": dict(
        ro=False,
        request={"roleName": "$role_name", "policyDocument": "$trust_document"},
        required=("roleName", "policyDocument"),
        binds={"role_name": "roleName"},
    ),
    "iam:CreateAccessKey": dict(
        ro=False,
        request={"userName": "$iam_user"},
        response={"accessKey": {"userName": "$iam_user", "accessKeyId": "$new_access_key", "status": "Active", "createDate": "$date_mdy"}},
        required=("userName",),
        binds={"iam_user": "userName"},
    ),
    "iam:CreateUser": dict(
        ro=False,
        request={"userName": "$iam_user"},
        response={"user": {"path": "/", "userName": "$iam_user", "userId": "$new_user_id", "arn": "arn:aws:iam::${account}:user/${iam_user}", "createDate": "$date_mdy"}},
        required=("userName",),
        binds={"iam_user": "userName"},
    ),
    "iam:GetRole": dict(ro=True, request={"roleName": "$role_name"}),
    "iam:ListRoles": dict(ro=True, request=None),
    "iam:ListAttachedRolePolicies": dict(ro=True, request={"roleName": "$role_name"}),
    "iam:GetPolicy": dict(ro=True, request={"policyArn": "$policy_arn"}),
    # ---------------------------------------------------------------- KMS
    "kms:Decrypt": dict(
        ro=True,
        request={"encryptionContext": {"aws:s3:arn": "arn:aws:s3:::${bucket}/${object_key}"}, "encryptionAlgorithm": "SYMMETRIC_DEFAULT"},
        resources=[{"accountId": "$account", "type": "AWS::KMS::Key", "ARN": "$kms_key_arn"}],
    ),
    "kms:GenerateDataKey": dict(
        ro=True,
        request={"keyId": "$kms_key_arn", "encryptionContext": {"aws:s3:arn": "arn:aws:s3:::${bucket}/${object_key}"}, "keySpec": "AES_256"},
        resources=[{"accountId": "$account", "type": "AWS::KMS::Key", "ARN": "$kms_key_arn"}],
    ),
    "kms:DescribeKey": dict(
        ro=True, request={"keyId": "$kms_key_arn"},
        resources=[{"accountId": "$account", "type": "AWS::KMS::Key", "ARN": "$kms_key_arn"}],
    ),
    "kms:ListAliases": dict(ro=True, request=None),
    "kms:ScheduleKeyDeletion": dict(
        ro=False,
        request={"keyId": "$kms_key_id", "pendingWindowInDays": 7},
        response={"keyId": "$kms_key_arn", "deletionDate": "$date_mdy", "keyState": "PendingDeletion", "pendingWindowInDays": 7},
        resources=[{"accountId": "$account", "type": "AWS::KMS::Key", "ARN": "$kms_key_arn"}],
        required=("keyId",),
        binds={"kms_key_id": "keyId"},
    ),
    "kms:DisableKey": dict(
        ro=False, request={"keyId": "$kms_key_id"},
        resources=[{"accountId": "$account", "type": "AWS::KMS::Key", "ARN": "$kms_key_arn"}],
        required=("keyId",), binds={"kms_key_id": "keyId"},
    ),
    "kms:PutKeyPolicy": dict(
        ro=False,
        request={"keyId": "$kms_key_id", "policyName": "default", "policy": "$key_policy", "bypassPolicyLockoutSafetyCheck": False},
        resources=[{"accountId": "$account", "type": "AWS::KMS::Key", "ARN": "$kms_key_arn"}],
        required=("keyId", "policy"), binds={"kms_key_id": "keyId"},
    ),
    # ---------------------------------------------------------------- CloudTrail
    "cloudtrail:StopLogging": dict(ro=False, request={"name": "$trail_arn"}, required=("name",)),
    "cloudtrail:StartLogging": dict(ro=False, request={"name": "$trail_arn"}, required=("name",)),
    "cloudtrail:DeleteTrail": dict(ro=False, request={"name": "$trail_name"}, required=("name",)),
    "cloudtrail:UpdateTrail": dict(
        ro=False,
        request={"name": "$trail_name", "s3BucketName": "$trail_bucket", "isMultiRegionTrail": True, "enableLogFileValidation": True},
        response={"name": "$trail_name", "s3BucketName": "$trail_bucket", "includeGlobalServiceEvents": True, "isMultiRegionTrail": True, "trailARN": "$trail_arn", "logFileValidationEnabled": True, "isOrganizationTrail": False},
        required=("name",),
    ),
    "cloudtrail:PutEventSelectors": dict(
        ro=False,
        request={"trailName": "$trail_name", "eventSelectors": [{"readWriteType": "All", "includeManagementEvents": True, "dataResources": [{"type": "AWS::S3::Object", "values": ["arn:aws:s3:::${data_bucket}/"]}], "excludeManagementEventSources": []}]},
        response={"trailARN": "$trail_arn", "eventSelectors": [{"readWriteType": "All", "includeManagementEvents": True, "dataResources": [{"type": "AWS::S3::Object", "values": ["arn:aws:s3:::${data_bucket}/"]}], "excludeManagementEventSources": []}]},
        required=("trailName",),
    ),
    "cloudtrail:StopEventDataStoreIngestion": dict(ro=False, request={"eventDataStore": "$event_data_store_arn"}, required=("eventDataStore",)),
    "cloudtrail:DeleteEventDataStore": dict(ro=False, request={"eventDataStore": "$event_data_store_arn"}, required=("eventDataStore",)),
    "cloudtrail:DescribeTrails": dict(ro=True, request={"trailNameList": [], "includeShadowTrails": True}),
    "cloudtrail:GetTrailStatus": dict(ro=True, request={"name": "$trail_arn"}),
    "cloudtrail:LookupEvents": dict(ro=True, request={"maxResults": 50}),
    # ---------------------------------------------------------------- GuardDuty, Macie, Detective
    "guardduty:ListDetectors": dict(ro=True, request=None),
    "guardduty:GetDetector": dict(ro=True, request={"detectorId": "$detector_id"}),
    "guardduty:ListFindings": dict(ro=True, request={"detectorId": "$detector_id", "maxResults": 50}),
    "guardduty:DeleteDetector": dict(ro=False, request={"detectorId": "$detector_id"}, required=("detectorId",)),
    "guardduty:UpdateDetector": dict(
        ro=False, request={"detectorId": "$detector_id", "enable": True, "findingPublishingFrequency": "FIFTEEN_MINUTES"},
        required=("detectorId",),
    ),
    "macie2:GetMacieSession": dict(ro=True, request=None),
    "macie2:DisableMacie": dict(ro=False, request=None),
    "macie2:UpdateMacieSession": dict(ro=False, request={"status": "ENABLED", "findingPublishingFrequency": "FIFTEEN_MINUTES"}, required=("status",)),
    "guardduty:DisassociateFromAdministratorAccount": dict(ro=False, request={"detectorId": "$detector_id"}, required=("detectorId",)),
    "guardduty:DeleteMembers": dict(
        ro=False, request={"detectorId": "$detector_id", "accountIds": ["$member_account"]},
        response={"unprocessedAccounts": []},
        required=("detectorId", "accountIds"),
    ),
    "macie2:DisassociateFromAdministratorAccount": dict(ro=False, request=None),
    "detective:DisassociateMembership": dict(ro=False, request={"graphArn": "$graph_arn"}, required=("graphArn",)),
    "detective:ListGraphs": dict(ro=True, request=None),
    "detective:DeleteGraph": dict(ro=False, request={"graphArn": "$graph_arn"}, required=("graphArn",)),
    # ---------------------------------------------------------------- CloudWatch Logs
    "logs:DeleteLogGroup": dict(ro=False, request={"logGroupName": "$log_group"}, required=("logGroupName",)),
    "logs:DeleteLogStream": dict(ro=False, request={"logGroupName": "$log_group", "logStreamName": "$log_stream"}, required=("logGroupName", "logStreamName")),
    "logs:PutRetentionPolicy": dict(ro=False, request={"logGroupName": "$log_group", "retentionInDays": 365}, required=("logGroupName", "retentionInDays")),
    "logs:CreateLogStream": dict(ro=False, request={"logGroupName": "$log_group", "logStreamName": "$log_stream"}, required=("logGroupName", "logStreamName")),
    "logs:DeleteSubscriptionFilter": dict(ro=False, request={"logGroupName": "$log_group", "filterName": "$subscription_filter"}, required=("logGroupName", "filterName")),
    "logs:DescribeLogGroups": dict(ro=True, request={"logGroupNamePrefix": "/aws/sagemaker/"}),
    "logs:DescribeLogStreams": dict(ro=True, request={"logGroupName": "$log_group", "orderBy": "LastEventTime", "descending": True}),
    # ---------------------------------------------------------------- EC2 (VPC endpoints, security groups)
    "ec2:DescribeVpcEndpoints": dict(ro=True, request={"VpcEndpointId": {}, "MaxResults": 100}, version="1.09"),
    "ec2:DescribeSecurityGroups": dict(ro=True, request={"securityGroupSet": {}, "securityGroupIdSet": {"items": [{"groupId": "$sg_id"}]}, "filterSet": {}}),
    "ec2:DescribeSubnets": dict(ro=True, request={"subnetSet": {}, "filterSet": {}}),
    "ec2:CreateVpcEndpoint": dict(
        ro=False,
        request={"CreateVpcEndpointRequest": {"VpcId": "$vpc_id", "ServiceName": "com.amazonaws.${region}.sagemaker.api", "VpcEndpointType": "Interface", "SubnetId": {"tag": 1, "content": "$subnet_id"}, "SecurityGroupId": {"tag": 1, "content": "$sg_id"}, "PrivateDnsEnabled": True}},
        response={"CreateVpcEndpointResponse": {"xmlns": "http://ec2.amazonaws.com/doc/2016-11-15/", "vpcEndpoint": {"vpcEndpointId": "$new_vpce_id", "vpcEndpointType": "Interface", "vpcId": "$vpc_id", "serviceName": "com.amazonaws.${region}.sagemaker.api", "state": "pending"}, "requestId": "$request_uuid"}},
        required=("CreateVpcEndpointRequest",),
    ),
    "ec2:DeleteVpcEndpoints": dict(
        ro=False,
        request={"DeleteVpcEndpointsRequest": {"VpcEndpointId": {"tag": 1, "content": "$vpce_id"}}},
        response={"DeleteVpcEndpointsResponse": {"xmlns": "http://ec2.amazonaws.com/doc/2016-11-15/", "unsuccessful": "", "requestId": "$request_uuid"}},
        required=("DeleteVpcEndpointsRequest",),
    ),
    "ec2:ModifyVpcEndpoint": dict(
        ro=False,
        request={"ModifyVpcEndpointRequest": {"VpcEndpointId": "$vpce_id", "PolicyDocument": "$vpce_policy"}},
        response={"ModifyVpcEndpointResponse": {"xmlns": "http://ec2.amazonaws.com/doc/2016-11-15/", "return": True, "requestId": "$request_uuid"}},
        required=("ModifyVpcEndpointRequest",),
    ),
    "ec2:AuthorizeSecurityGroupEgress": dict(
        ro=False,
        request={"groupId": "$sg_id", "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "groups": {}, "ipRanges": {"items": [{"cidrIp": "10.40.0.0/16"}]}, "ipv6Ranges": {}, "prefixListIds": {}}]}},
        response={"requestId": "$request_uuid", "_return": True, "securityGroupRuleSet": {"items": [{"groupOwnerId": "$account", "groupId": "$sg_id", "securityGroupRuleId": "sgr-${hex17}", "isEgress": True, "ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv4": "10.40.0.0/16"}]}},
        required=("groupId", "ipPermissions"),
    ),
    # ---------------------------------------------------------------- Secrets Manager
    "secretsmanager:GetSecretValue": dict(
        ro=True, request={"secretId": "$secret_arn"},
        required=("secretId",),
    ),
    "secretsmanager:ListSecrets": dict(ro=True, request={"maxResults": 100}),
    # ---------------------------------------------------------------- Organizations (SCPs)
    "organizations:DetachPolicy": dict(ro=False, request={"policyId": "$scp_id", "targetId": "$account"}, required=("policyId", "targetId")),
    "organizations:DeletePolicy": dict(ro=False, request={"policyId": "$scp_id"}, required=("policyId",)),
    "organizations:UpdatePolicy": dict(
        ro=False, request={"policyId": "$scp_id", "content": "$scp_content"},
        response={"policy": {"policySummary": {"id": "$scp_id", "arn": "arn:aws:organizations::${mgmt_account}:policy/${org_id}/service_control_policy/${scp_id}", "name": "sagemaker-guardrails", "type": "SERVICE_CONTROL_POLICY", "awsManaged": False}}},
        required=("policyId",),
    ),
    "organizations:DescribeOrganization": dict(ro=True, request=None),
    # ---------------------------------------------------------------- Service Quotas
    "servicequotas:RequestServiceQuotaIncrease": dict(
        ro=False,
        request={"serviceCode": "sagemaker", "quotaCode": "L-1216C47A", "desiredValue": 8.0},
        response={"requestedQuota": {"id": "$hex32", "serviceCode": "sagemaker", "serviceName": "Amazon SageMaker", "quotaCode": "L-1216C47A", "quotaName": "ml.p4d.24xlarge for training job usage", "desiredValue": 8.0, "status": "PENDING", "requester": "$caller_arn", "quotaArn": "arn:aws:servicequotas:${region}:${account}:sagemaker/L-1216C47A", "globalQuota": False, "unit": "None"}},
        required=("serviceCode", "quotaCode", "desiredValue"),
    ),
    "servicequotas:ListServiceQuotas": dict(ro=True, request={"serviceCode": "sagemaker"}),
    # ---------------------------------------------------------------- API Gateway (REST APIs)
    # Request parameters are the API's path parameters and body members (API reference).
    "apigateway:PutMethod": dict(
        ro=False,
        request={"restApiId": "$rest_api_id", "resourceId": "$api_resource_id", "httpMethod": "$api_http_method", "authorizationType": "$api_auth", "apiKeyRequired": False},
        response={"httpMethod": "$api_http_method", "authorizationType": "$api_auth", "apiKeyRequired": False},
        required=("restApiId", "resourceId", "httpMethod", "authorizationType"),
        binds={"api_http_method": "httpMethod", "api_auth": "authorizationType"},
    ),
    "apigateway:UpdateMethod": dict(
        # the response is the method after the patch (an /authorizationType patch sets $api_auth)
        ro=False,
        request={"restApiId": "$rest_api_id", "resourceId": "$api_resource_id", "httpMethod": "$api_http_method",
                 "patchOperations": [{"op": "replace", "path": "/authorizationType", "value": "$api_auth"}]},
        response={"httpMethod": "$api_http_method", "authorizationType": "$api_auth", "apiKeyRequired": False},
        required=("restApiId", "resourceId", "httpMethod", "patchOperations"),
        binds={"api_http_method": "httpMethod"},
    ),
    # ---------------------------------------------------------------- AWS Budgets (global: us-east-1)
    "budgets:DeleteBudget": dict(
        ro=False, request={"accountId": "$account", "budgetName": "$budget_name"},
        required=("accountId", "budgetName"),
    ),
    "budgets:UpdateBudget": dict(
        ro=False,
        request={"accountId": "$account",
                 "newBudget": {"budgetName": "$budget_name", "budgetLimit": {"amount": "5000.0", "unit": "USD"}, "costFilters": {"Service": ["Amazon SageMaker"]},
                               "costTypes": {"includeTax": True, "includeSubscription": True, "useBlended": False, "includeRefund": False, "includeCredit": False,
                                             "includeUpfront": True, "includeRecurring": True, "includeOtherSubscription": True, "includeSupport": True,
                                             "includeDiscount": True, "useAmortized": False},
                               "timeUnit": "MONTHLY", "budgetType": "COST"}},
        required=("accountId", "newBudget"),
    ),
    # ---------------------------------------------------------------- Sign-in and STS
    "signin:ConsoleLogin": dict(
        ro=False, event_type="AwsConsoleSignIn", request=None,
        response={"ConsoleLogin": "Success"},
        additional={"LoginTo": "https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true", "MobileVersion": "No", "MFAUsed": "$mfa_used"},
    ),
    "sts:AssumeRole": dict(
        ro=True,
        request={"roleArn": "$target_role_arn", "roleSessionName": "$target_session", "durationSeconds": 3600},
        response={"credentials": {"accessKeyId": "$new_session_key", "sessionToken": "$session_token", "expiration": "$expiration_mdy"},
                  "assumedRoleUser": {"assumedRoleId": "${target_role_id}:${target_session}", "arn": "arn:aws:sts::${account}:assumed-role/${target_role_name}/${target_session}"}},
        resources=[{"accountId": "$account", "type": "AWS::IAM::Role", "ARN": "$target_role_arn"}],
        required=("roleArn", "roleSessionName"),
    ),
    "sts:GetCallerIdentity": dict(ro=True, request=None),
}


def _build() -> dict[str, EventSpec]:
    out: dict[str, EventSpec] = {}
    for key, e in _E.items():
        service, name = key.split(":", 1)
        category = e.get("category", "Management")
        out[key] = EventSpec(
            key=key,
            source=SOURCES[service],
            name=name,
            read_only=e["ro"],
            request=e.get("request"),
            response=e.get("response"),
            resources=e.get("resources"),
            additional=e.get("additional"),
            required=tuple(e.get("required", ())),
            binds=dict(e.get("binds", {})),
            category=category,
            event_type=e.get("event_type", "AwsApiCall"),
            global_region=GLOBAL_REGION.get(service),
            request_id="s3" if e.get("rid") == "s3" else "uuid",
            version=e.get("version", VERSIONS.get(service, CURRENT_VERSION)),
            host=HOSTS.get(service),
        )
    return out


EVENTS: dict[str, EventSpec] = _build()
_BY_NAME: dict[tuple[str, str], EventSpec] = {(s.source, s.name): s for s in EVENTS.values()}
_NAMES: dict[str, list[EventSpec]] = {}
for _s in EVENTS.values():
    _NAMES.setdefault(_s.name, []).append(_s)


def lookup(call: str) -> EventSpec | None:
    """Find an event by ``service:Name``, ``source.amazonaws.com:Name`` or a unique bare name."""
    if ":" in call:
        svc, name = call.split(":", 1)
        spec = EVENTS.get(f"{svc}:{name}")
        if spec is None and svc.endswith(".amazonaws.com"):
            spec = _BY_NAME.get((svc, name))
        return spec
    found = _NAMES.get(call, [])
    return found[0] if len(found) == 1 else None


def suggestions(call: str) -> list[str]:
    """Known event keys that look like ``call`` (for error messages)."""
    import difflib

    return difflib.get_close_matches(call, list(EVENTS), n=3, cutoff=0.6)
