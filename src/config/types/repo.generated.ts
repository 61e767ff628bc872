/* Generated from schemas/repo.schema.json by `npm run gen:types`: do not edit. */

/**
 * Where Terraform keeps state, one key per stack. Default: local, under .myt/state/.
 */
export type StateBackend = LocalState | S3State | GcsState;

/**
 * Repository-wide MyT settings, in myt.yaml at the repository root. Every setting has a default, so the file is optional.
 */
export interface RepoConfig {
  /**
   * Version of the MyT file format.
   */
  apiVersion?: 'myt/v1';
  /**
   * What this file declares.
   */
  kind?: 'Repo';
  state?: StateBackend;
}
/**
 * State files on this disk (lost with an ephemeral CI runner: use s3 or gcs there).
 */
export interface LocalState {
  /**
   * local: files under path.
   */
  backend: 'local';
  /**
   * Folder, relative to the repository root. Default: .myt/state.
   */
  path?: string;
}
/**
 * An S3 bucket, with state locking.
 */
export interface S3State {
  /**
   * s3: an Amazon S3 bucket.
   */
  backend: 's3';
  /**
   * Bucket name.
   */
  bucket: string;
  /**
   * Region of the bucket.
   */
  region: string;
  /**
   * Key prefix; each stack's state is PREFIX/STACK.tfstate. Default: myt.
   */
  prefix?: string;
  /**
   * Secrets file holding accessKeyId and secretAccessKey for the bucket.
   */
  credentials?: string;
}
/**
 * A Google Cloud Storage bucket (GCS locks state itself).
 */
export interface GcsState {
  /**
   * gcs: a Google Cloud Storage bucket.
   */
  backend: 'gcs';
  /**
   * Bucket name.
   */
  bucket: string;
  /**
   * Object prefix; each stack's state is under PREFIX/STACK. Default: myt.
   */
  prefix?: string;
  /**
   * Secrets file holding the service-account JSON key (field serviceAccountKey).
   */
  credentials?: string;
}
