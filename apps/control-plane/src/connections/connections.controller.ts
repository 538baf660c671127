import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiBody,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { NAME_PATTERN } from '@portcullis/contracts';
import { CurrentPrincipal } from '../auth/current-principal.decorator';
import type { Principal } from '../auth/principal.model';
import { Roles } from '../auth/roles.decorator';
import { ErrorDto } from '../errors/error.dto';
import { ConnectionRequestValidator } from './connection-request.validator';
import {
  ConnectionDto,
  ConnectionListDto,
  CreateConnectionDto,
  PatchConnectionDto,
} from './connection.dto';
import { ConnectionService } from './connection.service';

const NAME_PARAM = {
  name: 'name',
  description: 'Connection name',
  schema: { type: 'string', pattern: NAME_PATTERN.source },
} as const;

/**
 * REST for connections: writes for `connection-admin` or `policy-admin`, reads for `auditor` too.
 * Credentials are write-only: no response ever carries a secret. Thin: bodies are checked by
 * ConnectionRequestValidator, the logic is ConnectionService's.
 */
@ApiTags('connections')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorDto, description: 'Missing or invalid bearer token' })
@ApiForbiddenResponse({ type: ErrorDto, description: 'Token lacks the required role' })
@ApiBadRequestResponse({
  type: ErrorDto,
  description: 'Invalid name or body; the message names the field',
})
@ApiServiceUnavailableResponse({
  type: ErrorDto,
  description: 'The database cannot serve the request now; retry',
})
@Controller('v1/connections')
@Roles('connection-admin', 'policy-admin')
export class ConnectionsController {
  constructor(private readonly connections: ConnectionService) {}

  @Get()
  @Roles('connection-admin', 'policy-admin', 'auditor')
  @ApiOperation({ summary: 'List connections (without secrets), by name' })
  @ApiOkResponse({ type: ConnectionListDto })
  list(): Promise<ConnectionListDto> {
    return this.connections.list();
  }

  @Get(':name')
  @Roles('connection-admin', 'policy-admin', 'auditor')
  @ApiOperation({
    summary: 'One connection; its credential shows only type, header and rotation time',
  })
  @ApiParam(NAME_PARAM)
  @ApiOkResponse({ type: ConnectionDto })
  @ApiNotFoundResponse({ type: ErrorDto })
  get(@Param('name') name: string): Promise<ConnectionDto> {
    return this.connections.get(ConnectionRequestValidator.connectionName(name));
  }

  @Post()
  @HttpCode(201)
  @ApiOperation({
    summary: 'Create a connection',
    description:
      'The credential is encrypted at rest and distributed to the enforcers that serve the connection, sealed to each enforcer’s own key.',
  })
  @ApiBody({ type: CreateConnectionDto })
  @ApiCreatedResponse({ type: ConnectionDto })
  @ApiConflictResponse({ type: ErrorDto, description: 'A connection with this name exists' })
  create(
    // `unknown`: ConnectionRequestValidator checks the body as parsed (the global pipe skips it).
    @Body() body: unknown,
    @CurrentPrincipal() principal: Principal,
  ): Promise<ConnectionDto> {
    return this.connections.create(ConnectionRequestValidator.create(body), principal);
  }

  @Patch(':name')
  @ApiOperation({
    summary: 'Change a connection',
    description:
      'New `credentials` rotate the secret; `credentials: null` removes it; absent fields stay.',
  })
  @ApiParam(NAME_PARAM)
  @ApiBody({ type: PatchConnectionDto })
  @ApiOkResponse({ type: ConnectionDto })
  @ApiNotFoundResponse({ type: ErrorDto })
  @ApiConflictResponse({ type: ErrorDto, description: 'Changed concurrently; retry' })
  patch(
    @Param('name') name: string,
    @Body() body: unknown,
    @CurrentPrincipal() principal: Principal,
  ): Promise<ConnectionDto> {
    const valid = ConnectionRequestValidator.connectionName(name);
    return this.connections.patch(valid, ConnectionRequestValidator.patch(body), principal);
  }

  @Delete(':name')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a connection; enforcers drop it' })
  @ApiParam(NAME_PARAM)
  @ApiNoContentResponse()
  @ApiNotFoundResponse({ type: ErrorDto })
  async remove(
    @Param('name') name: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<void> {
    await this.connections.remove(ConnectionRequestValidator.connectionName(name), principal);
  }
}
