import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CONTROL_PLANE_CONFIG, type ControlPlaneConfig } from '../config/control-plane.config';
import { dataSourceOptions, openDataSource } from './data-source';

/**
 * The TypeORM data source, migrated before any other provider can use it. Repositories come from
 * `TypeOrmModule.forFeature([...])` in each capability module or `@InjectDataSource()`.
 */
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [CONTROL_PLANE_CONFIG],
      useFactory: (config: ControlPlaneConfig) => ({
        ...dataSourceOptions(config.databaseUrl),
        // Boot fails fast with the database's own message; a supervisor restarts us if needed.
        retryAttempts: 1,
      }),
      dataSourceFactory: async (options) => {
        if (!options) throw new Error('database options missing');
        return openDataSource(options);
      },
    }),
  ],
})
export class DatabaseModule {}
