import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC_KEY = 'portcullis:public';

/** No token required: only for probes, metrics and the OpenAPI document. */
export const Public = () => SetMetadata(IS_PUBLIC_KEY, true);
