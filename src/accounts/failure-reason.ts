/** Why an upstream attempt failed, as health, logs and the `reason` label of metrics name it. */
export type FailureReason = 'rate_limited' | 'server_error' | 'unreachable' | 'bad_key' | 'timeout' | 'model_unavailable';
